namespace Teletherapy.MediaRelay.Tests.Sdp;

internal static class SdpFixtures
{
    public static readonly string[] Names =
    [
        "chrome-offer", "chrome-offer-simulcast", "chrome-answer", "firefox-offer", "firefox-answer", "gst-offer", "gst-answer",
    ];

    public static string Load(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "sdp", name + ".sdp"));
}
