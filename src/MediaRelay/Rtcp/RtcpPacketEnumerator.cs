namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// Walks every packet of a compound datagram (RFC 3550 §6.1) or of a reduced-size one (RFC 5506 §3), which may
/// hold a single feedback packet. Stops at the first packet that does not fit; <see cref="IsMalformed"/> tells
/// whether the datagram ended cleanly.
/// </summary>
internal ref struct RtcpPacketEnumerator
{
    private ReadOnlySpan<byte> _remaining;

    public RtcpPacketEnumerator(ReadOnlySpan<byte> datagram)
    {
        _remaining = datagram;
        Current = default;
        IsMalformed = false;
    }

    public RtcpHeader Current { get; private set; }

    public bool IsMalformed { get; private set; }

    public readonly RtcpPacketEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining.IsEmpty || IsMalformed)
        {
            return false;
        }

        if (!RtcpHeader.TryRead(_remaining, out RtcpHeader header))
        {
            IsMalformed = true;
            return false;
        }

        Current = header;
        _remaining = _remaining[header.Packet.Length..];
        return true;
    }
}
