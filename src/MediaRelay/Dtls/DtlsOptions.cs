using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>Settings of a <see cref="DtlsSession"/>.</summary>
internal sealed class DtlsOptions
{
    /// <summary>
    /// SRTP profiles in order of preference. A server picks the first of these the client offers; a client
    /// offers them in this order. Default: AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES128_CM_HMAC_SHA1_80
    /// (GCM first: cheaper per packet and authenticated encryption).
    /// </summary>
    public IReadOnlyList<SrtpProfile> SrtpProfiles { get; init; } =
        [SrtpProfile.AeadAes128Gcm, SrtpProfile.AeadAes256Gcm, SrtpProfile.Aes128CmHmacSha1_80];

    /// <summary>Whole-handshake timeout. Default 10 s; range 1 s – 5 min.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Largest datagram we send. Default 1200 bytes, which fits any path MTU WebRTC meets (with TURN and
    /// IPv6 headers); BouncyCastle fragments handshake messages to fit.
    /// </summary>
    public int SendLimit { get; init; } = 1200;

    /// <summary>Incoming DTLS datagrams buffered before new ones are dropped. Default 64.</summary>
    public int ReceiveQueueCapacity { get; init; } = 64;

    /// <summary>The threads handshakes run on; <see cref="DtlsHandshakeThreads.Shared"/> when null (tests give their own).</summary>
    internal DtlsHandshakeThreads? Threads { get; init; }

    internal void Validate()
    {
        if (SrtpProfiles.Count == 0 || SrtpProfiles.Any(p => !p.IsSupported()))
        {
            throw new ArgumentException("At least one supported SRTP profile is required.", nameof(SrtpProfiles));
        }

        if (HandshakeTimeout < TimeSpan.FromSeconds(1) || HandshakeTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout));
        }

        if (SendLimit < 200 || SendLimit > 65000)
        {
            throw new ArgumentOutOfRangeException(nameof(SendLimit));
        }

        if (ReceiveQueueCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ReceiveQueueCapacity));
        }
    }
}
