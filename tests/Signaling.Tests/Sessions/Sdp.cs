namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>SDP captured from browsers (copied from the relay's tests), for negotiation through the hub.</summary>
internal static class Sdp
{
    private static readonly Lazy<string> Chrome = new(() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Sessions", "Fixtures", "sdp", "chrome-offer.sdp")));

    /// <summary>Chrome's publish offer: one Opus audio and one VP8/H.264 video track.</summary>
    public static string ChromeOffer => Chrome.Value;
}
