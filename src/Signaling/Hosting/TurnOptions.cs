namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// Configuration section <c>Turn</c>: an optional TURN server (e.g. coturn with <c>use-auth-secret</c>) for
/// browsers on networks that block the media ports. Default: none configured.
/// </summary>
public sealed class TurnOptions
{
    public const string SectionName = "Turn";

    /// <summary>TURN URLs handed to browsers, e.g. <c>turn:203.0.113.5:3478</c> (<c>Turn__Urls__0</c>…).</summary>
    public IList<string> Urls { get; } = new List<string>();

    /// <summary>The shared secret of coturn's <c>static-auth-secret</c>; credentials are derived from it per request.</summary>
    public string? Secret { get; set; }

    /// <summary>A file holding the secret instead (<c>Turn__SecretFile</c>, e.g. a container secret); read once at start.</summary>
    public string? SecretFile { get; set; }

    /// <summary>The longest credentials live. A participant's end when the session's room closes, if that is sooner. Default 12 hours.</summary>
    public int CredentialLifetimeMinutes { get; set; } = 720;

    /// <summary>Reads <see cref="SecretFile"/> into <see cref="Secret"/>; a missing or empty file stops the start with a clear error.</summary>
    internal static void LoadSecretFile(TurnOptions options)
    {
        if (string.IsNullOrEmpty(options.SecretFile))
        {
            return;
        }

        string secret;
        try
        {
            secret = File.ReadAllText(options.SecretFile).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Turn:SecretFile {options.SecretFile} cannot be read: {e.Message}", e);
        }

        if (secret.Length == 0)
        {
            throw new InvalidOperationException($"Turn:SecretFile {options.SecretFile} is empty.");
        }

        options.Secret = secret;
    }
}
