using System.Buffers.Binary;
using System.Numerics;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// RTP/RTCP/STUN/DTLS over a TCP stream (RFC 4571 §2, used by ICE-TCP, RFC 6544): each packet is preceded
/// by a 16-bit big-endian length. Reads arrive in arbitrary pieces; this reassembles whole packets. A frame that
/// lies whole in one read is handed on in place; only a frame split across reads is copied, into storage made on
/// first need and sized to the frame, so a connection that never sends a split frame holds no buffer at all.
/// </summary>
internal sealed class Rfc4571Framer
{
    /// <summary>Largest frame RFC 4571 can express; media never comes near it.</summary>
    public const int MaxFrame = 65535;

    /// <summary>The smallest reassembly storage: a media packet or a DTLS flight fits, so it rarely grows.</summary>
    private const int MinimumStorage = 2048;

    private byte[]? _storage;
    private int _headerBytes;
    private int _length;
    private int _filled;

    /// <summary>Frames longer than this fail the stream (<see cref="Append{TState}"/> returns false). Default <see cref="MaxFrame"/>.</summary>
    public int MaxFrameLength { get; set; } = MaxFrame;

    /// <summary>Bytes of reassembly storage held (0 until a frame is split across reads).</summary>
    public int StorageBytes => _storage?.Length ?? 0;

    /// <summary>
    /// Takes received bytes and calls <paramref name="onFrame"/> for every complete frame (the span is only valid during
    /// the call, and may be part of <paramref name="data"/>). Returns false if the stream cannot be valid (a zero-length
    /// frame, or one longer than <see cref="MaxFrameLength"/>), after which the connection should be closed.
    /// </summary>
    public bool Append<TState>(Span<byte> data, TState state, FrameHandler<TState> onFrame)
    {
        while (!data.IsEmpty)
        {
            if (_headerBytes < 2)
            {
                if (_headerBytes == 0 && data.Length >= 2)
                {
                    int length = BinaryPrimitives.ReadUInt16BigEndian(data);
                    if (!IsAcceptable(length))
                    {
                        return false;
                    }

                    if (data.Length >= 2 + length)
                    {
                        onFrame(state, data.Slice(2, length));
                        data = data[(2 + length)..];
                        continue;
                    }

                    _length = length;
                    _headerBytes = 2;
                    data = data[2..];
                }
                else
                {
                    _length = (_length << 8) | data[0];
                    _headerBytes++;
                    data = data[1..];
                    if (_headerBytes < 2)
                    {
                        continue;
                    }

                    if (!IsAcceptable(_length))
                    {
                        return false;
                    }
                }

                _filled = 0;
                EnsureStorage(_length);
                continue;
            }

            var take = Math.Min(_length - _filled, data.Length);
            data[..take].CopyTo(_storage.AsSpan(_filled));
            _filled += take;
            data = data[take..];
            if (_filled == _length)
            {
                onFrame(state, _storage.AsSpan(0, _length));
                _headerBytes = 0;
                _length = 0;
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

    // RFC 4571 §2: a zero length cannot occur in a valid stream.
    private bool IsAcceptable(int length) => length > 0 && length <= MaxFrameLength;

    private void EnsureStorage(int length)
    {
        if (_storage is null || _storage.Length < length)
        {
            _storage = new byte[Math.Min(MaxFrame, Math.Max(MinimumStorage, (int)BitOperations.RoundUpToPowerOf2((uint)length)))];
        }
    }
}

internal delegate void FrameHandler<in TState>(TState state, Span<byte> frame);
