namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>SDP captured from browsers (copied from the relay's tests), for negotiation through the hub.</summary>
internal static class Sdp
{
    private static readonly Lazy<string> Chrome = new(() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Sessions", "Fixtures", "sdp", "chrome-offer.sdp")));

    private static readonly Lazy<string> ChromeScreen = new(() => WithSecondVideo(Chrome.Value));

    /// <summary>Chrome's publish offer: one Opus audio and one VP8/H.264 video track.</summary>
    public static string ChromeOffer => Chrome.Value;

    /// <summary>
    /// The same offer as Chrome makes it once a screen is shared: a third m-line, video again, in a stream of its own
    /// (its camera m-line copied under mid 2, another msid stream and other SSRCs), bundled with the others.
    /// </summary>
    public static string ChromeOfferWithScreen => ChromeScreen.Value;

    private static string WithSecondVideo(string offer)
    {
        var lines = offer.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        var video = Array.FindIndex(lines, l => l.StartsWith("m=video", StringComparison.Ordinal));
        var screen = lines[video..]
            .Select(l => l == "a=mid:1" ? "a=mid:2" : l)
            .Select(l => l.Replace("f063e42d-10db-4d8d-ad49-ac353f9cf49f", "screen-stream", StringComparison.Ordinal)
                .Replace("490906419", "1234567", StringComparison.Ordinal)
                .Replace("2931578651", "7654321", StringComparison.Ordinal));
        var all = lines.Select(l => l == "a=group:BUNDLE 0 1" ? "a=group:BUNDLE 0 1 2" : l).Concat(screen);
        return string.Join("\r\n", all) + "\r\n";
    }
}
