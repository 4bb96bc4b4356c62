using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// A certificate fingerprint as SDP carries it in <c>a=fingerprint:&lt;hash-func&gt; &lt;AB:CD:…&gt;</c>
/// (RFC 8122 §5): the hash of the DER certificate, upper-case hex bytes separated by colons.
/// </summary>
internal sealed class DtlsFingerprint
{
    /// <summary>The hash function every WebRTC endpoint supports, and the one we announce.</summary>
    public const string Sha256 = "sha-256";

    private readonly byte[] _value;

    private DtlsFingerprint(string algorithm, byte[] value)
    {
        Algorithm = algorithm;
        _value = value;
    }

    /// <summary>Lower-case hash function name from the IANA "Hash Function Textual Names" registry, e.g. <c>sha-256</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The digest bytes.</summary>
    public ReadOnlySpan<byte> Value => _value;

    /// <summary>Computes the fingerprint of a DER-encoded certificate with sha-1, sha-256, sha-384 or sha-512.</summary>
    /// <exception cref="NotSupportedException">Another hash function.</exception>
    public static DtlsFingerprint Compute(string algorithm, ReadOnlySpan<byte> derCertificate)
    {
        string name = algorithm.ToLowerInvariant();
        return new DtlsFingerprint(name, Hash(name, derCertificate) ?? throw new NotSupportedException($"Hash function '{algorithm}' is not supported."));
    }

    /// <summary>
    /// Parses the value of an SDP <c>a=fingerprint</c> attribute, e.g. <c>sha-256 AB:CD:…</c>. Hex digits of
    /// either case are accepted (RFC 8122 §5 says upper case, but peers differ).
    /// </summary>
    public static bool TryParse(string? sdpValue, out DtlsFingerprint? fingerprint)
    {
        fingerprint = null;
        if (string.IsNullOrWhiteSpace(sdpValue))
        {
            return false;
        }

        string[] parts = sdpValue.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            return false;
        }

        string algorithm = parts[0].ToLowerInvariant();
        int? expectedLength = DigestLength(algorithm);
        string[] octets = parts[1].Split(':');
        if (expectedLength is null || octets.Length != expectedLength)
        {
            return false;
        }

        var value = new byte[octets.Length];
        for (int i = 0; i < octets.Length; i++)
        {
            if (octets[i].Length != 2 || !byte.TryParse(octets[i], System.Globalization.NumberStyles.AllowHexSpecifier, null, out value[i]))
            {
                return false;
            }
        }

        fingerprint = new DtlsFingerprint(algorithm, value);
        return true;
    }

    /// <summary>True when <paramref name="derCertificate"/> hashes to this fingerprint under its own hash function.</summary>
    public bool Matches(ReadOnlySpan<byte> derCertificate)
    {
        byte[]? digest = Hash(Algorithm, derCertificate);
        return digest is not null && CryptographicOperations.FixedTimeEquals(digest, _value);
    }

    /// <summary>The digest as <c>AB:CD:…</c>.</summary>
    public string ToHex() => string.Join(':', _value.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>The SDP attribute value: <c>sha-256 AB:CD:…</c>.</summary>
    public override string ToString() => $"{Algorithm} {ToHex()}";

    private static int? DigestLength(string algorithm) => algorithm switch
    {
        "sha-1" => 20,
        "sha-256" => 32,
        "sha-384" => 48,
        "sha-512" => 64,
        _ => null,
    };

    private static byte[]? Hash(string algorithm, ReadOnlySpan<byte> data) => algorithm switch
    {
        // SHA-1 only to verify what a peer announces (RFC 8122 §5 still lists it); we never announce it.
#pragma warning disable CA5350
        "sha-1" => SHA1.HashData(data),
#pragma warning restore CA5350
        "sha-256" => SHA256.HashData(data),
        "sha-384" => SHA384.HashData(data),
        "sha-512" => SHA512.HashData(data),
        _ => null,
    };
}
