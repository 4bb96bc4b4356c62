using System.Security.Cryptography;
using System.Text;

namespace Teletherapy.MediaRelay.Ice;

/// <summary>
/// An ICE username fragment and password (RFC 8445 §5.3): ufrag at least 24 bits and pwd at least 128 bits
/// of randomness, from the ice-char alphabet (RFC 8839 §5.4). We use 8 and 24 characters (48 and 144 bits).
/// </summary>
internal sealed class IceCredentials
{
    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    public IceCredentials(string ufrag, string password)
    {
        Ufrag = ufrag;
        Password = password;
        UfragBytes = Encoding.ASCII.GetBytes(ufrag);
        PasswordBytes = Encoding.ASCII.GetBytes(password);
    }

    public string Ufrag { get; }

    public string Password { get; }

    public byte[] UfragBytes { get; }

    /// <summary>The short-term credential key of MESSAGE-INTEGRITY (RFC 8489 §9.1.1: the password itself).</summary>
    public byte[] PasswordBytes { get; }

    public static IceCredentials Create() => new(RandomString(8), RandomString(24));

    private static string RandomString(int length) => RandomNumberGenerator.GetString(IceChars, length);
}
