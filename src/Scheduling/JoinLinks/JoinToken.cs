using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Teletherapy.Scheduling.JoinLinks;

/// <summary>
/// Unguessable tokens for join links and portal sign-in links: 256 random bits from <see cref="RandomNumberGenerator"/>,
/// base64url without padding (43 characters). Only <see cref="Hash"/> of a token is stored.
/// </summary>
internal static class JoinToken
{
    public const int RandomBytes = 32;

    public static string New()
    {
        Span<byte> bytes = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>SHA-256 of the token's UTF-8 bytes, lower-case hex: what the database keeps.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Cheap shape check before touching the database (a malformed token is simply not found).</summary>
    public static bool LooksValid(string? token) =>
        token is { Length: >= 22 and <= 128 } && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
