namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// The cryptographic transform of one key set (SRTP or SRTCP session keys of one direction): encrypts and
/// tags, or verifies and decrypts, a packet in place once <see cref="SrtpContext"/> has worked out its index.
/// </summary>
internal abstract class SrtpTransform : IDisposable
{
    /// <summary>Tag length in bytes.</summary>
    public abstract int TagLength { get; }

    /// <summary>Distance of the E‖SRTCP-index word from the end of a protected SRTCP packet.</summary>
    public abstract int RtcpIndexOffsetFromEnd { get; }

    /// <summary>Encrypts the payload of <c>packet[..length]</c> and writes the tag at <c>packet[length..]</c>.</summary>
    public abstract void ProtectRtp(Span<byte> packet, int length, int headerLength, uint ssrc, ulong index);

    /// <summary>Verifies the tag at the end of <c>packet[..length]</c> and only then decrypts the payload.</summary>
    public abstract bool TryUnprotectRtp(Span<byte> packet, int length, int headerLength, uint ssrc, ulong index);

    /// <summary>Encrypts everything after the first 8 bytes, appends the trailer; returns the new length.</summary>
    public abstract int ProtectRtcp(Span<byte> packet, int length, uint ssrc, uint index);

    /// <summary>Verifies and decrypts an SRTCP packet whose E‖index word has already been read.</summary>
    public abstract bool TryUnprotectRtcp(Span<byte> packet, int length, uint ssrc, uint indexWord, out int newLength);

    public abstract void Dispose();
}
