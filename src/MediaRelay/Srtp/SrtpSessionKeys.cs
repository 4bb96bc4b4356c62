namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// The session keys of one direction for either SRTP or SRTCP (RFC 3711 §4.3). AEAD profiles have
/// no authentication key (RFC 7714 §11), so <see cref="AuthenticationKey"/> is empty for them.
/// </summary>
internal sealed class SrtpSessionKeys
{
    public SrtpSessionKeys(byte[] encryptionKey, byte[] authenticationKey, byte[] salt)
    {
        EncryptionKey = encryptionKey;
        AuthenticationKey = authenticationKey;
        Salt = salt;
    }

    public byte[] EncryptionKey { get; }

    public byte[] AuthenticationKey { get; }

    public byte[] Salt { get; }
}
