using Org.BouncyCastle.Tls;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// The cipher suites both ends offer: ECDHE with ECDSA certificates only, since our certificates are
/// ECDSA P-256 and a suite needing an RSA certificate would make BouncyCastle ask for RSA credentials we do
/// not have. AES-128-GCM first, as browsers prefer it.
/// </summary>
internal static class DtlsCipherSuites
{
    public static int[] Ecdsa() =>
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    ];
}
