namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// The SRTP protection profiles a DTLS-SRTP handshake may negotiate. Values are the two-byte
/// identifiers of the IANA "DTLS-SRTP Protection Profiles" registry (RFC 5764 §4.1.2, RFC 7714 §14.2).
/// </summary>
internal enum SrtpProfile
{
    /// <summary>AES-128 counter mode with an 80-bit HMAC-SHA1 tag (RFC 5764 §4.1.2).</summary>
    Aes128CmHmacSha1_80 = 0x0001,

    /// <summary>AES-128-GCM with a 128-bit tag (RFC 7714 §14.2).</summary>
    AeadAes128Gcm = 0x0007,

    /// <summary>AES-256-GCM with a 128-bit tag (RFC 7714 §14.2).</summary>
    AeadAes256Gcm = 0x0008,
}

/// <summary>Key, salt and tag sizes of each <see cref="SrtpProfile"/>.</summary>
internal static class SrtpProfileParameters
{
    /// <summary>Master (and session) key length in bytes.</summary>
    public static int KeyLength(this SrtpProfile profile) => profile switch
    {
        SrtpProfile.Aes128CmHmacSha1_80 => 16,
        SrtpProfile.AeadAes128Gcm => 16,
        SrtpProfile.AeadAes256Gcm => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(profile)),
    };

    /// <summary>Master (and session) salt length in bytes: 112 bits for AES-CM (RFC 3711 §8.2), 96 bits for GCM (RFC 7714 §12).</summary>
    public static int SaltLength(this SrtpProfile profile) => profile switch
    {
        SrtpProfile.Aes128CmHmacSha1_80 => 14,
        SrtpProfile.AeadAes128Gcm or SrtpProfile.AeadAes256Gcm => 12,
        _ => throw new ArgumentOutOfRangeException(nameof(profile)),
    };

    /// <summary>Authentication tag length in bytes appended to each SRTP and SRTCP packet.</summary>
    public static int TagLength(this SrtpProfile profile) => profile switch
    {
        SrtpProfile.Aes128CmHmacSha1_80 => 10,
        SrtpProfile.AeadAes128Gcm or SrtpProfile.AeadAes256Gcm => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(profile)),
    };

    /// <summary>Length of the HMAC-SHA1 session authentication key (RFC 3711 §8.2: n_a = 160); AEAD profiles have none.</summary>
    public static int AuthKeyLength(this SrtpProfile profile) => profile == SrtpProfile.Aes128CmHmacSha1_80 ? 20 : 0;

    /// <summary>True for the AEAD (GCM) profiles of RFC 7714.</summary>
    public static bool IsAead(this SrtpProfile profile) => profile is SrtpProfile.AeadAes128Gcm or SrtpProfile.AeadAes256Gcm;

    /// <summary>True for the profiles this implementation supports.</summary>
    public static bool IsSupported(this SrtpProfile profile) =>
        profile is SrtpProfile.Aes128CmHmacSha1_80 or SrtpProfile.AeadAes128Gcm or SrtpProfile.AeadAes256Gcm;

    /// <summary>Bytes a protected RTP packet grows by (the tag).</summary>
    public static int RtpOverhead(this SrtpProfile profile) => profile.TagLength();

    /// <summary>Bytes a protected RTCP packet grows by (tag plus the 4-byte E‖SRTCP index word).</summary>
    public static int RtcpOverhead(this SrtpProfile profile) => profile.TagLength() + 4;
}
