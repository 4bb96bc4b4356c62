namespace Teletherapy.MediaRelay.Srtp;

/// <summary>The 48-bit SRTP packet index i = 2^16 · ROC + SEQ and its estimation (RFC 3711 §3.3.1, Appendix A).</summary>
internal static class SrtpRolloverCounter
{
    /// <summary>Marks an index that cannot exist (a packet from before ROC 0).</summary>
    public const ulong InvalidIndex = ulong.MaxValue;

    /// <summary>
    /// Estimates the index of a packet with sequence number <paramref name="sequenceNumber"/> given the
    /// highest index seen so far: the guess is ROC−1, ROC or ROC+1, whichever puts SEQ closest to s_l.
    /// </summary>
    public static ulong EstimateIndex(ulong highestIndex, ushort sequenceNumber)
    {
        long roc = (long)(highestIndex >> 16);
        int highestSequence = (int)(highestIndex & 0xFFFF);
        long guess;
        if (highestSequence < 32768)
        {
            guess = sequenceNumber - highestSequence > 32768 ? roc - 1 : roc;
        }
        else
        {
            guess = highestSequence - 32768 > sequenceNumber ? roc + 1 : roc;
        }

        // ROC is 32 bits (RFC 3711 §3.2.1); a guess outside it is a packet from before the stream began.
        if (guess < 0 || guess > uint.MaxValue)
        {
            return InvalidIndex;
        }

        return ((ulong)guess << 16) | sequenceNumber;
    }
}
