using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;

namespace Teletherapy.EndToEnd;

/// <summary>The public connection test in real Chromium: camera and microphone go to our relay and come back.</summary>
public sealed class ConnectionCheckTests
{
    [Fact(Timeout = 90_000)]
    public async Task Test_my_connection_gets_video_and_sound_back_through_the_relay()
    {
        using var server = new LiveServer();
        await using var browser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);

        await page.GotoAsync(server.BaseUrl + "/check");
        await Browser.ScreenshotAsync(page, "check-before");
        await page.GetByRole(AriaRole.Button, new() { Name = "Test my connection" }).ClickAsync();

        var results = page.Locator("#check-results");
        await results.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 45_000 });
        await Browser.ScreenshotAsync(page, "check-result");

        Assert.Equal("came back", await page.Locator("[data-result=video]").TextContentAsync());
        Assert.Equal("came back", await page.Locator("[data-result=audio]").TextContentAsync());
        Assert.Matches(@"^\d+ ms$", await page.Locator("[data-result=rtt]").TextContentAsync() ?? string.Empty);
        Assert.Matches(@"^\d+ kbit/s$", await page.Locator("[data-result=bitrate]").TextContentAsync() ?? string.Empty);
        var verdict = await page.Locator("#check-status").GetAttributeAsync("data-verdict");
        Assert.Contains(verdict, new[] { "good", "fair" });
        Assert.Empty(errors);

        var metrics = await new HttpClient().GetStringAsync(server.BaseUrl + "/metrics");
        Assert.Matches(@"teletherapy_relay_packets_forwarded_total [1-9]", metrics);
        Assert.Contains("teletherapy_dtls_handshake_seconds_count", metrics, StringComparison.Ordinal);
        _ = server.Services.GetRequiredService<MediaRelayService>();
    }
}
