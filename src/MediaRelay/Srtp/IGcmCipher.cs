namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// AES-GCM with a 12-byte nonce and a 16-byte tag, as the SRTP transform uses it: <see cref="AesNiGcm"/> and
/// <see cref="OpenSslGcm"/>. The transform holds the one it made as its own class, so the per-packet calls are direct;
/// this is what both promise (and what their tests check of both).
/// </summary>
internal interface IGcmCipher : IDisposable
{
    /// <summary>
    /// Encrypts <paramref name="plaintext"/> into <paramref name="ciphertext"/> (the same span, or not overlapping),
    /// authenticating <paramref name="associatedData"/> too, and writes the 16-byte tag.
    /// </summary>
    void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData);

    /// <summary>
    /// Decrypts <paramref name="ciphertext"/> into <paramref name="plaintext"/> (the same span, or not overlapping) and
    /// checks the tag; false when it does not match (the output is then zeroed).
    /// </summary>
    bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData);
}
