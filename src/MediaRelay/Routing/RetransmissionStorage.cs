using System.Collections.Concurrent;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The packet storage of <see cref="RetransmissionBuffer"/>s that closed, kept for the next ones. Each buffer's storage
/// (128 to 1024 slots of 1500 bytes: 192 KB to 1.5 MB) lives on the large-object heap, which only a full collection
/// reclaims; without reuse, every session that ends leaves its storage there for minutes, and a server where sessions
/// come and go all day holds far more memory than its live sessions need, in a saw-tooth that follows the full
/// collections. Reused storage keeps what the server holds close to what its live sessions use. At most
/// <see cref="MaxPooledBytes"/> are kept; beyond that storage is left to the collector as before.
/// </summary>
/// <remarks>
/// A reused array still holds another stream's packets: a buffer reads a slot only where its own (fresh) sequence
/// table says it stored one, so nothing of the earlier stream can be read back.
/// </remarks>
internal sealed class RetransmissionStorage
{
    /// <summary>The storage every producer uses.</summary>
    public static RetransmissionStorage Shared { get; } = new(64 * 1024 * 1024);

    private readonly ConcurrentStack<byte[]>[] _free;
    private long _pooledBytes;

    public RetransmissionStorage(long maxPooledBytes)
    {
        MaxPooledBytes = maxPooledBytes;
        _free = new ConcurrentStack<byte[]>[SizeClasses];
        for (var i = 0; i < SizeClasses; i++)
        {
            _free[i] = new ConcurrentStack<byte[]>();
        }
    }

    /// <summary>128, 256, 512 and 1024 slots.</summary>
    private const int SizeClasses = 4;

    public long MaxPooledBytes { get; }

    /// <summary>Bytes of storage kept for reuse now.</summary>
    public long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>Storage for <paramref name="capacity"/> slots: a kept array when there is one, else a new one.</summary>
    public byte[] Rent(int capacity)
    {
        if (ClassOf(capacity) is var c and >= 0 && _free[c].TryPop(out var data))
        {
            Interlocked.Add(ref _pooledBytes, -data.Length);
            return data;
        }

        return new byte[capacity * RetransmissionBuffer.MaxPacketLength];
    }

    /// <summary>Keeps <paramref name="data"/> for reuse, unless the pool is full or it is not a buffer's storage.</summary>
    public void Return(byte[] data)
    {
        var c = ClassOf(data.Length / RetransmissionBuffer.MaxPacketLength);
        if (c < 0 || data.Length % RetransmissionBuffer.MaxPacketLength != 0)
        {
            return;
        }

        if (Interlocked.Add(ref _pooledBytes, data.Length) > MaxPooledBytes)
        {
            Interlocked.Add(ref _pooledBytes, -data.Length);
            return;
        }

        _free[c].Push(data);
    }

    private static int ClassOf(int capacity) => capacity switch
    {
        RetransmissionBuffer.InitialCapacity => 0,
        RetransmissionBuffer.InitialCapacity * 2 => 1,
        RetransmissionBuffer.InitialCapacity * 4 => 2,
        RetransmissionBuffer.InitialCapacity * 8 => 3,
        _ => -1,
    };
}
