using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>What became of one received SRTP or SRTCP packet in <see cref="SrtpChannel.Unprotect"/>.</summary>
internal enum SrtpReceipt
{
    /// <summary>Authenticated and decrypted in place.</summary>
    Decrypted,

    /// <summary>Arrived before the keys; a copy is kept and handed back by <see cref="SrtpChannel.TryInstall"/>.</summary>
    Held,

    /// <summary>Arrived before the keys and was dropped: nothing is held now, or the hold is full.</summary>
    NoKeys,

    /// <summary>Failed authentication, replay or parsing (RFC 3711 §3.3): dropped.</summary>
    Rejected,
}

/// <summary>
/// Both SRTP directions of one DTLS-SRTP association (RFC 5764), as the relay's transport and the client's use them:
/// packets that arrive while the handshake thread is still installing keys are held (the peer may send as soon as its
/// own handshake ended, RFC 5764 §4.2), each direction has its own lock because sends come from any forwarding thread,
/// and a protected packet is sent under the outbound lock so packets leave in the order of their SRTP indexes.
/// </summary>
internal sealed class SrtpChannel : IDisposable
{
    /// <summary>How many packets are held before the keys are installed; later ones are dropped.</summary>
    public const int MaxHeldPackets = 32;

    /// <summary>Bytes an SRTP/SRTCP packet can grow by: the largest tag plus the SRTCP index.</summary>
    public const int MaxProtectionOverhead = 16 + 4;

    private readonly Lock _inboundLock = new();
    private readonly Lock _outboundLock = new();
    private readonly Queue<byte[]> _held = new();
    private SrtpContext? _inbound;
    private SrtpContext? _outbound;
    private bool _disposed;

    /// <summary>The profile DTLS chose, once keys are installed.</summary>
    public SrtpProfile? Profile { get; private set; }

    /// <summary>True once keys are installed (and until disposed).</summary>
    public bool HasKeys
    {
        get
        {
            lock (_inboundLock)
            {
                return _inbound is not null;
            }
        }
    }

    /// <summary>
    /// Installs the keys of a finished handshake and hands back the packets held before them, to be handled as if they
    /// arrived now. False (and nothing installed) once disposed.
    /// </summary>
    public bool TryInstall(DtlsSrtpKeys keys, out byte[][] held)
    {
        keys.CreateContexts(out var outbound, out var inbound);
        lock (_outboundLock)
        {
            lock (_inboundLock)
            {
                if (_disposed)
                {
                    outbound.Dispose();
                    inbound.Dispose();
                    held = [];
                    return false;
                }

                _outbound = outbound;
                _inbound = inbound;
                held = [.. _held];
                _held.Clear();
            }
        }

        Profile = keys.Profile;
        return true;
    }

    /// <summary>
    /// Authenticates and decrypts <paramref name="packet"/> in place (<paramref name="length"/>: the plain length).
    /// Before the keys, a copy is held when <paramref name="hold"/> (a handshake is under way) and there is room.
    /// </summary>
    public SrtpReceipt Unprotect(Span<byte> packet, bool rtcp, bool hold, out int length) =>
        Unprotect(packet, rtcp, hold, out length, out _);

    /// <inheritdoc cref="Unprotect(Span{byte}, bool, bool, out int)"/>
    /// <param name="result">Why a <see cref="SrtpReceipt.Rejected"/> packet was refused (Ok otherwise).</param>
    public SrtpReceipt Unprotect(Span<byte> packet, bool rtcp, bool hold, out int length, out SrtpUnprotectResult result)
    {
        lock (_inboundLock)
        {
            if (_inbound is null)
            {
                length = 0;
                result = SrtpUnprotectResult.Ok;
                if (hold && !_disposed && _held.Count < MaxHeldPackets)
                {
                    _held.Enqueue(packet.ToArray());
                    return SrtpReceipt.Held;
                }

                return SrtpReceipt.NoKeys;
            }

            result = rtcp
                ? _inbound.UnprotectRtcp(packet, packet.Length, out length)
                : _inbound.UnprotectRtp(packet, packet.Length, out length);
            return result == SrtpUnprotectResult.Ok ? SrtpReceipt.Decrypted : SrtpReceipt.Rejected;
        }
    }

    /// <summary>
    /// Encrypts <c>buffer[..length]</c> in place (the buffer needs <see cref="MaxProtectionOverhead"/> bytes of room)
    /// and hands the protected packet to <paramref name="send"/> under the outbound lock. False before the keys, after
    /// dispose, on a malformed packet, or when <paramref name="send"/> says it was not sent.
    /// </summary>
    public bool ProtectAndSend<TState>(Span<byte> buffer, int length, bool rtcp, TState state, Func<TState, ReadOnlySpan<byte>, bool> send)
    {
        lock (_outboundLock)
        {
            if (_outbound is null)
            {
                return false;
            }

            var ok = rtcp
                ? _outbound.TryProtectRtcp(buffer, length, out var protectedLength)
                : _outbound.TryProtectRtp(buffer, length, out protectedLength);
            return ok && send(state, buffer[..protectedLength]);
        }
    }

    /// <summary>
    /// Encrypts <c>buffer[..length]</c> in place without sending it (the SRTP index is used up). False before the keys,
    /// after dispose or on a malformed packet.
    /// </summary>
    public bool TryProtect(Span<byte> buffer, int length, bool rtcp, out int protectedLength)
    {
        lock (_outboundLock)
        {
            protectedLength = 0;
            return _outbound is not null && (rtcp
                ? _outbound.TryProtectRtcp(buffer, length, out protectedLength)
                : _outbound.TryProtectRtp(buffer, length, out protectedLength));
        }
    }

    public void Dispose()
    {
        lock (_outboundLock)
        {
            lock (_inboundLock)
            {
                _disposed = true;
                _inbound?.Dispose();
                _inbound = null;
                _outbound?.Dispose();
                _outbound = null;
                _held.Clear();
            }
        }
    }
}
