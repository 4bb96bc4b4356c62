namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// The sliding replay window of one stream (RFC 3711 §3.3.2). 128 packets wide, twice the minimum of 64
/// the RFC requires, because reordered video bursts at high rates easily span more than 64 packets.
/// </summary>
internal struct SrtpReplayWindow
{
    public const int Size = 128;

    // Bit i set: the packet with index Highest − i has been received.
    private UInt128 _received;

    /// <summary>The highest index received and authenticated so far.</summary>
    public ulong Highest { get; private set; }

    /// <summary>Starts the window at the first authenticated packet of a stream.</summary>
    public void Reset(ulong index)
    {
        Highest = index;
        _received = UInt128.One;
    }

    /// <summary>False for a replayed packet or one too old to tell (left of the window).</summary>
    public readonly bool IsAcceptable(ulong index)
    {
        if (index > Highest)
        {
            return true;
        }

        ulong age = Highest - index;
        return age < Size && ((_received >> (int)age) & UInt128.One) == UInt128.Zero;
    }

    /// <summary>Why <see cref="IsAcceptable"/> refuses <paramref name="index"/>: left of the window, or a replay inside it.</summary>
    public readonly SrtpUnprotectResult Refusal(ulong index) =>
        index <= Highest && Highest - index >= Size ? SrtpUnprotectResult.OutOfWindow : SrtpUnprotectResult.Replayed;

    /// <summary>Records an authenticated packet; slides the window when it is the newest.</summary>
    public void Accept(ulong index)
    {
        if (index > Highest)
        {
            ulong shift = index - Highest;
            _received = shift >= Size ? UInt128.One : (_received << (int)shift) | UInt128.One;
            Highest = index;
        }
        else
        {
            ulong age = Highest - index;
            if (age < Size)
            {
                _received |= UInt128.One << (int)age;
            }
        }
    }
}
