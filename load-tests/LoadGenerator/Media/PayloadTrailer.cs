using System.Buffers.Binary;

namespace Teletherapy.LoadTests.Media;

/// <summary>
/// The 16 bytes the load generator appends to every payload it sends: the publisher's SSRC, a per-SSRC packet counter
/// (from 0, so a receiver can count what it missed whatever the relay does to sequence numbers) and the send time as a
/// <see cref="System.Diagnostics.Stopwatch"/> timestamp (sender and receiver share the clock: one process).
/// </summary>
internal static class PayloadTrailer
{
    public const int Length = 16;

    public static void Write(Span<byte> destination, uint ssrc, uint counter, long sendTimestamp)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], counter);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], sendTimestamp);
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out uint ssrc, out uint counter, out long sendTimestamp)
    {
        if (payload.Length < Length)
        {
            ssrc = 0;
            counter = 0;
            sendTimestamp = 0;
            return false;
        }

        var trailer = payload[^Length..];
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(trailer);
        counter = BinaryPrimitives.ReadUInt32BigEndian(trailer[4..]);
        sendTimestamp = BinaryPrimitives.ReadInt64BigEndian(trailer[8..]);
        return true;
    }
}
