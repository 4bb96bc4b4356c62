using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Fuzz;

/// <summary>
/// Derives malformed inputs from valid ones, seeded so failures reproduce: bit flips, bytes and 16/32-bit fields set
/// to boundary values, rewritten length fields, truncation, extension, inserted, removed and repeated ranges, random
/// bytes and splices of two corpus entries. Inputs that reached new code (see <see cref="CoverageMap"/>) join the corpus
/// through <see cref="Add"/>, so later mutations start from them.
/// </summary>
internal sealed class PacketMutator
{
    /// <summary>Inputs the mutator keeps at most: the seeds plus what coverage found.</summary>
    public const int MaxCorpus = 4096;

    /// <summary>Longest input produced; datagrams on the media port are smaller (a path MTU, RFC 8085 §3.2).</summary>
    public const int MaxLength = 4096;

    private static readonly ushort[] Boundary16 = [0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 0x3FFF, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF];
    private static readonly uint[] Boundary32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF];

    private readonly Random _random;
    private readonly List<byte[]> _corpus;
    private readonly int _seedCount;
    private readonly int[] _lengthOffsets;

    public PacketMutator(int seed, IEnumerable<byte[]> seeds, params int[] lengthOffsets)
    {
        _random = new Random(seed);
        _corpus = [.. seeds];
        if (_corpus.Count == 0)
        {
            throw new ArgumentException("At least one seed is needed.", nameof(seeds));
        }

        _seedCount = _corpus.Count;
        _lengthOffsets = lengthOffsets;
    }

    public Random Random => _random;

    /// <summary>Seeds given plus inputs added by <see cref="Add"/>.</summary>
    public int CorpusCount => _corpus.Count;

    /// <summary>Keeps an input that reached new code; once full, it replaces an earlier find (never a seed).</summary>
    public void Add(byte[] input)
    {
        if (_corpus.Count < MaxCorpus)
        {
            _corpus.Add(input);
        }
        else if (_corpus.Count > _seedCount)
        {
            _corpus[_random.Next(_seedCount, _corpus.Count)] = input;
        }
    }

    /// <summary>A corpus entry, unchanged (a target's own mutator starts from it).</summary>
    public byte[] Pick() => _corpus[_random.Next(_corpus.Count)];

    public byte[] Next()
    {
        if (_random.Next(16) == 0)
        {
            byte[] noise = new byte[_random.Next(0, 128)];
            _random.NextBytes(noise);
            return noise;
        }

        byte[] data = (byte[])Pick().Clone();
        int rounds = 1 + _random.Next(_random.Next(2) == 0 ? 2 : 5);
        for (int r = 0; r < rounds; r++)
        {
            data = Mutate(data);
        }

        return data.Length > MaxLength ? data[..MaxLength] : data;
    }

    /// <summary>One mutation of <paramref name="data"/> (changed in place or replaced).</summary>
    public byte[] Mutate(byte[] data)
    {
        switch (_random.Next(1, 15))
        {
            case 1 or 2 when data.Length > 0:
                int flips = 1 + _random.Next(4);
                for (int i = 0; i < flips; i++)
                {
                    data[_random.Next(data.Length)] ^= (byte)(1 << _random.Next(8));
                }

                return data;
            case 3:
                return data.AsSpan(0, _random.Next(data.Length + 1)).ToArray();
            case 4:
                byte[] longer = new byte[data.Length + _random.Next(1, 16)];
                data.CopyTo(longer, 0);
                _random.NextBytes(longer.AsSpan(data.Length));
                return longer;
            case 5 or 6 when _lengthOffsets.Length > 0:
                TweakLength(data);
                return data;
            case 7 when data.Length > 0:
                data[_random.Next(data.Length)] = (byte)_random.Next(256);
                return data;
            case 8:
                byte[] other = Pick();
                int cut = _random.Next(data.Length + 1);
                int from = _random.Next(other.Length + 1);
                return [.. data.AsSpan(0, cut), .. other.AsSpan(from)];
            case 9 when data.Length >= 2:
                int at16 = _random.Next(data.Length - 1);
                BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at16), Boundary16[_random.Next(Boundary16.Length)]);
                return data;
            case 10 when data.Length >= 4:
                int at32 = _random.Next(data.Length - 3);
                BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at32), Boundary32[_random.Next(Boundary32.Length)]);
                return data;
            case 11 when data.Length > 0:
                // Remove a range: a field or an element disappears and what follows moves up.
                int start = _random.Next(data.Length);
                int count = 1 + _random.Next(Math.Min(16, data.Length - start));
                return [.. data.AsSpan(0, start), .. data.AsSpan(start + count)];
            case 12 when data.Length > 0:
                // Repeat a range: an element (attribute, report block, extension) appears twice.
                int first = _random.Next(data.Length);
                int size = 1 + _random.Next(Math.Min(32, data.Length - first));
                int insertAt = _random.Next(data.Length + 1);
                return [.. data.AsSpan(0, insertAt), .. data.AsSpan(first, size), .. data.AsSpan(insertAt)];
            case 13:
                byte[] inserted = new byte[1 + _random.Next(8)];
                _random.NextBytes(inserted);
                int where = _random.Next(data.Length + 1);
                return [.. data.AsSpan(0, where), .. inserted, .. data.AsSpan(where)];
            default:
                if (data.Length > 0)
                {
                    data[_random.Next(data.Length)] = (byte)_random.Next(4) switch { 0 => 0x00, 1 => 0xFF, 2 => 0x80, _ => 0x7F };
                }

                return data;
        }
    }

    /// <summary>
    /// Nudges a 16-bit length field by ±1, sets it to a random value, or to what the rest of the input would make it
    /// in bytes or 32-bit words (so a length that fits is tried with a body that does not, and the other way round).
    /// </summary>
    private void TweakLength(byte[] data)
    {
        // Each offset may point into any packet of a compound datagram, so also try multiples of 4 from it.
        int offset = _lengthOffsets[_random.Next(_lengthOffsets.Length)];
        if (data.Length > 4 && _random.Next(2) == 0)
        {
            offset += 4 * _random.Next(data.Length / 4);
        }

        if (offset + 1 >= data.Length)
        {
            return;
        }

        int current = (data[offset] << 8) | data[offset + 1];
        int rest = data.Length - offset - 2;
        int value = _random.Next(5) switch
        {
            0 => current + 1,
            1 => current - 1,
            2 => rest,
            3 => rest / 4,
            _ => _random.Next(0x10000),
        };
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(offset), (ushort)value);
    }
}
