using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The last packets of one publisher stream, by their original sequence number, so a subscriber's NACK
/// (RFC 4585 §6.2.1) can be answered from the relay instead of travelling on to the publisher (whose repair
/// would reach every subscriber again). One per video encoding of a producer; slots are allocated once.
/// Written on the publisher's receive thread, read on subscribers' receive threads: one lock.
/// </summary>
internal sealed class RetransmissionBuffer
{
    /// <summary>512 packets: about 2 s of 2 Mbit/s video, longer than any NACK is still useful for.</summary>
    public const int Capacity = 512;

    public const int MaxPacketLength = 1500;

    /// <summary>Packets older than this are not resent: the receiver's jitter buffer has given up on them.</summary>
    private static readonly long MaxAge = Stopwatch.Frequency;

    private readonly Lock _lock = new();
    private readonly byte[] _data = new byte[Capacity * MaxPacketLength];
    private readonly int[] _length = new int[Capacity];
    private readonly int[] _sequence = new int[Capacity];
    private readonly long[] _stored = new long[Capacity];

    public RetransmissionBuffer()
    {
        Array.Fill(_sequence, -1);
    }

    public void Store(ReadOnlySpan<byte> packet, ushort sequence, long now)
    {
        if (packet.Length > MaxPacketLength)
        {
            return;
        }

        var slot = sequence % Capacity;
        lock (_lock)
        {
            packet.CopyTo(_data.AsSpan(slot * MaxPacketLength));
            _length[slot] = packet.Length;
            _sequence[slot] = sequence;
            _stored[slot] = now;
        }
    }

    /// <summary>Copies the stored packet with this original sequence number; 0 when it is gone or too old.</summary>
    public int TryCopy(ushort sequence, Span<byte> destination, long now)
    {
        var slot = sequence % Capacity;
        lock (_lock)
        {
            if (_sequence[slot] != sequence || now - _stored[slot] > MaxAge || destination.Length < _length[slot])
            {
                return 0;
            }

            _data.AsSpan(slot * MaxPacketLength, _length[slot]).CopyTo(destination);
            return _length[slot];
        }
    }
}
