using System.Runtime.InteropServices;
using SharpFuzz.Common;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Fuzz;

/// <summary>
/// Branch coverage of the relay assembly when load-tests/fuzz.sh instrumented it with the sharpfuzz tool: every
/// instrumented branch bumps a byte of a 64 KiB map (<see cref="Trace.SharedMem"/>, indexed by the pair of the branch and
/// the one before). After each input the hit counts are bucketed (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+) and compared
/// with what earlier inputs reached; an input that reached a new pair or bucket is kept for mutation. Without
/// instrumentation the map stays empty and the runner is a plain seeded mutator.
/// </summary>
internal sealed unsafe class CoverageMap : IDisposable
{
    public const int Size = 1 << 16;

    private static readonly byte[] Buckets = BuildBuckets();
    private readonly byte* _trace;
    private readonly byte[] _virgin = new byte[Size];
    private bool _disposed;

    private CoverageMap()
    {
        _trace = (byte*)NativeMemory.AllocZeroed(Size);
        Trace.SharedMem = _trace;
        Trace.PrevLocation = 0;
        ResetVirgin();
    }

    /// <summary>True when the relay assembly loaded here was instrumented (it references SharpFuzz.Common).</summary>
    public static bool IsRelayInstrumented { get; } =
        typeof(Demultiplexer).Assembly.GetReferencedAssemblies().Any(a => a.Name == "SharpFuzz.Common");

    /// <summary>A map for this process, or null without instrumentation. Call before any relay code runs.</summary>
    public static CoverageMap? TryCreate() => IsRelayInstrumented ? new CoverageMap() : null;

    /// <summary>Pairs of branches reached since the last <see cref="ResetVirgin"/>.</summary>
    public int Edges
    {
        get
        {
            int edges = 0;
            foreach (byte b in _virgin)
            {
                edges += b != 0xFF ? 1 : 0;
            }

            return edges;
        }
    }

    /// <summary>Forgets what was reached: each target starts from nothing.</summary>
    public void ResetVirgin() => _virgin.AsSpan().Fill(0xFF);

    /// <summary>Clears the hit counts before an input.</summary>
    public void Clear()
    {
        NativeMemory.Clear(_trace, Size);
        Trace.PrevLocation = 0;
    }

    /// <summary>Whether the last input reached a pair or a hit-count bucket no earlier input reached; records it.</summary>
    public bool HasNewCoverage()
    {
        bool found = false;
        ulong* words = (ulong*)_trace;
        for (int w = 0; w < Size / 8; w++)
        {
            if (words[w] == 0)
            {
                continue;
            }

            for (int i = w * 8; i < (w * 8) + 8; i++)
            {
                byte bucket = Buckets[_trace[i]];
                if ((bucket & _virgin[i]) != 0)
                {
                    _virgin[i] &= (byte)~bucket;
                    found = true;
                }
            }
        }

        return found;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Trace.SharedMem = null;
            NativeMemory.Free(_trace);
        }
    }

    private static byte[] BuildBuckets()
    {
        var buckets = new byte[256];
        for (int count = 1; count < 256; count++)
        {
            buckets[count] = count switch
            {
                1 => 1,
                2 => 2,
                3 => 4,
                < 8 => 8,
                < 16 => 16,
                < 32 => 32,
                < 128 => 64,
                _ => 128,
            };
        }

        return buckets;
    }
}
