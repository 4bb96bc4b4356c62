using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// RTP/RTCP/STUN/DTLS over a TCP stream (RFC 4571 §2, used by ICE-TCP, RFC 6544): each packet is preceded
/// by a 16-bit big-endian length. Reads arrive in arbitrary pieces; this reassembles whole packets.
/// </summary>
internal sealed class Rfc4571Framer
{
    /// <summary>Largest frame we accept; RFC 4571 allows 65535, media never comes near it.</summary>
    public const int MaxFrame = 65535;

    private readonly byte[] _buffer = new byte[2 + MaxFrame];
    private int _filled;

    /// <summary>
    /// Appends received bytes and calls <paramref name="onFrame"/> for every complete frame (the span is only
    /// valid during the call). Returns false if the stream cannot be valid (a zero-length frame), after which
    /// the connection should be closed.
    /// </summary>
    public bool Append<TState>(ReadOnlySpan<byte> data, TState state, FrameHandler<TState> onFrame)
    {
        while (!data.IsEmpty)
        {
            var need = _filled < 2 ? 2 - _filled : 2 + BinaryPrimitives.ReadUInt16BigEndian(_buffer) - _filled;
            var take = Math.Min(need, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_filled));
            _filled += take;
            data = data[take..];

            if (_filled < 2)
            {
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(_buffer);
            if (length == 0)
            {
                return false;
            }

            if (_filled == 2 + length)
            {
                onFrame(state, _buffer.AsSpan(2, length));
                _filled = 0;
            }
        }

        return true;
    }

    /// <summary>Writes the 2-byte length prefix and the packet into <paramref name="destination"/>; returns bytes written.</summary>
    public static int Frame(ReadOnlySpan<byte> packet, Span<byte> destination)
    {
        if (packet.Length > MaxFrame || destination.Length < packet.Length + 2)
        {
            return 0;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)packet.Length);
        packet.CopyTo(destination[2..]);
        return packet.Length + 2;
    }
}

internal delegate void FrameHandler<in TState>(TState state, Span<byte> frame);
