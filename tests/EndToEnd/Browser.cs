using Microsoft.Playwright;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Debian's Chromium driven by Playwright (never a downloaded browser), with fake camera and microphone
/// and loopback ICE candidates allowed (the flags that matter are set below). Each browser gets a fresh profile.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly string _profile;
    private readonly List<string> _cspViolations = [];
    private bool _cspViolationsExpected;

    private Browser(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        _profile = profile;
        // Every page of every browser test runs under the server's Content-Security-Policy: a violation fails the test.
        context.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (_cspViolations)
                {
                    _cspViolations.Add(message.Text);
                }
            }
        };
    }

    /// <summary>CSP violations the pages reported to the console so far.</summary>
    public IReadOnlyList<string> CspViolations
    {
        get
        {
            lock (_cspViolations)
            {
                return [.. _cspViolations];
            }
        }
    }

    /// <summary>For a test that provokes a violation on purpose: closing the browser then does not fail on it.</summary>
    public void ExpectCspViolations() => _cspViolationsExpected = true;

    public IBrowserContext Context { get; }

    /// <summary>Where screenshots of each screen go (a folder beside the test results).</summary>
    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <param name="fakeDevices">Options of Chromium's fake capture devices, e.g. <c>device-count=2</c> for two cameras.</param>
    /// <param name="extraArgs">More command-line switches, e.g. <see cref="ClinicTestHost"/>'s for an HTTPS origin.</param>
    /// <param name="timeZone">The browser's own time zone (IANA id), e.g. a patient abroad; the machine's when null.</param>
    /// <param name="viewport">The pages' size; 1024×768 when null.</param>
    public static async Task<Browser> LaunchAsync(string? fakeDevices = null, IEnumerable<string>? extraArgs = null, string? timeZone = null, ViewportSize? viewport = null)
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is expected at {ChromiumPath} (./test.sh installs it).");
        var playwright = await Playwright.CreateAsync();
        var profile = Path.Combine(Path.GetTempPath(), "teletherapy-chromium-" + Guid.NewGuid().ToString("N"));
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                fakeDevices is null ? "--use-fake-device-for-media-stream" : "--use-fake-device-for-media-stream=" + fakeDevices,
                "--use-fake-ui-for-media-stream",
                "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
                .. extraArgs ?? [],
            ],
            Permissions = ["camera", "microphone"],
            ViewportSize = viewport ?? new ViewportSize { Width = 1024, Height = 768 },
            TimezoneId = timeZone,
        });
        return new Browser(playwright, context, profile);
    }

    public async Task<IPage> NewPageAsync(List<string>? consoleErrors = null)
    {
        var page = await Context.NewPageAsync();
        if (consoleErrors is not null)
        {
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    consoleErrors.Add(message.Text);
                }
            };
            page.PageError += (_, error) => consoleErrors.Add(error);
        }

        return page;
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = true });
    }

    /// <summary>
    /// Switches that let a test open <c>https://clinic.test:PORT</c> on loopback with a test certificate (tests only:
    /// the name maps to 127.0.0.1 and certificate errors are ignored, so the page is a secure context as in a clinic).
    /// </summary>
    public static readonly string[] ClinicTestHost = ["--host-resolver-rules=MAP clinic.test 127.0.0.1", "--ignore-certificate-errors"];

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        var violations = CspViolations;
        _playwright.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }

        Assert.True(_cspViolationsExpected || violations.Count == 0, "Content-Security-Policy violations:\n" + string.Join("\n", violations));
    }
}
