using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Teletherapy.Signaling.Tests.Hosting;
using Xunit.Sdk;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Debian's Firefox ESR in headless mode, driven over WebDriver BiDi by puppeteer-core from a small Node program
/// (firefox/driver.mjs, whose preferences give a fake camera and microphone and allow loopback ICE candidates). The
/// test sends it one JSON command a line and reads one JSON answer a line. Each browser gets a fresh
/// profile in a temporary folder, removed when it is disposed; the driver and Firefox are killed if they do not close.
/// </summary>
public sealed class FirefoxBrowser : IAsyncDisposable
{
    public const string FirefoxPath = "/usr/bin/firefox-esr";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _node;
    private readonly string _profile;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _log = [];
    private readonly List<string> _errors = [];
    private long _nextId;

    private FirefoxBrowser(Process node, string profile)
    {
        _node = node;
        _profile = profile;
    }

    /// <summary>Firefox's version as it reports it (e.g. firefox/153.8.0).</summary>
    public string Version { get; private set; } = string.Empty;

    /// <summary>The page's console and errors, and the driver's and Firefox's own output, in order of arrival.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>Console messages of type error and uncaught page errors, except failed loads of resources.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_log)
            {
                return [.. _errors];
            }
        }
    }

    public static async Task<FirefoxBrowser> LaunchAsync()
    {
        ExternalProcess.Require(FirefoxPath, "firefox-esr");
        var driverFolder = Path.Combine(RepositoryFolder.Root(), "tests", "EndToEnd", "firefox");
        Assert.True(
            File.Exists(Path.Combine(driverFolder, "node_modules", "puppeteer-core", "package.json")),
            $"puppeteer-core is not installed in {driverFolder}: building tests/EndToEnd runs `npm ci` there (test.sh builds it).");

        var profile = Path.Combine(Path.GetTempPath(), "teletherapy-firefox-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = driverFolder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("driver.mjs");
        start.ArgumentList.Add(profile);
        start.ArgumentList.Add(FirefoxPath);
        // puppeteer-core never downloads a browser; this keeps any puppeteer that might be resolved from doing so either.
        start.Environment["PUPPETEER_SKIP_DOWNLOAD"] = "1";
        var node = new Process { StartInfo = start, EnableRaisingEvents = true };
        var firefox = new FirefoxBrowser(node, profile);
        node.OutputDataReceived += (_, e) => firefox.OnOutput(e.Data);
        node.ErrorDataReceived += (_, e) => firefox.AddLog("stderr", e.Data);
        node.Exited += (_, _) => firefox.FailPending();
        node.Start();
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        try
        {
            firefox.Version = await firefox._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception e)
        {
            await firefox.DisposeAsync();
            throw new XunitException($"Firefox did not start: {e.Message}\n{firefox.Log}");
        }

        return firefox;
    }

    public Task GotoAsync(string url) => SendAsync(new { cmd = "goto", url });

    /// <summary>
    /// Clicks the visible, enabled button (or link) with this accessible name, waiting for it as Playwright would; with
    /// <paramref name="navigates"/>, returns when the page the click opens has loaded.
    /// </summary>
    public Task ClickAsync(string name, string role = "button", bool navigates = false) => SendAsync(new { cmd = "click", name, role, navigates });

    /// <summary>Calls a JavaScript function (its source, e.g. <c>async () => …</c>) in the page and returns its result.</summary>
    public async Task<T> EvaluateAsync<T>(string function)
    {
        var value = await SendAsync(new { cmd = "evaluate", script = function });
        return value.Deserialize<T>(JsonOptions)!;
    }

    /// <summary>Polls <paramref name="function"/> every 250 ms until <paramref name="done"/> holds, failing with the last value after the timeout.</summary>
    public async Task<T> WaitForAsync<T>(string what, string function, Func<T, bool> done, int timeoutMs = 20_000)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await EvaluateAsync<T>(function);
            if (done(value))
            {
                return value;
            }

            if (clock.ElapsedMilliseconds > timeoutMs)
            {
                throw new XunitException($"Firefox: {what} did not happen within {timeoutMs / 1000} s; last seen: {JsonSerializer.Serialize(value, JsonOptions)}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Waits until the element matching <paramref name="selector"/> has exactly this text.</summary>
    public Task WaitForTextAsync(string selector, string text, int timeoutMs = 20_000) =>
        WaitForAsync<string?>(
            $"{selector} saying \"{text}\"",
            $"() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); return e ? e.textContent.trim() : null; }}",
            seen => seen == text,
            timeoutMs);

    /// <summary>Waits until the element matching <paramref name="selector"/> contains this text.</summary>
    public Task WaitForTextContainingAsync(string selector, string text, int timeoutMs = 20_000) =>
        WaitForAsync<string?>(
            $"{selector} containing \"{text}\"",
            $"() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); return e ? e.textContent : null; }}",
            seen => seen is not null && seen.Contains(text, StringComparison.Ordinal),
            timeoutMs);

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(Browser.ScreenshotFolder);
        await SendAsync(new { cmd = "screenshot", path = Path.Combine(Browser.ScreenshotFolder, name + ".png") });
    }

    /// <summary>
    /// Runs a test's steps with this browser; a failure comes back with Firefox's console and output attached, and a
    /// screenshot of its page beside the other screenshots.
    /// </summary>
    public async Task RunAsync(string screenshotOnFailure, Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch (Exception failure)
        {
            if (!_node.HasExited)
            {
                try
                {
                    await ScreenshotAsync(screenshotOnFailure).WaitAsync(TimeSpan.FromSeconds(15));
                }
                catch (Exception)
                {
                    // The failure itself matters more than its picture.
                }
            }

            var log = Log;
            throw new XunitException(
                $"{failure.GetType().Name}: {failure.Message}\n--- Firefox ({Version}) console and output ---\n{(log.Length == 0 ? "(nothing)" : log)}\n--- end of the Firefox log ---\n{failure.StackTrace}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_node.HasExited)
            {
                // Closing the driver's input closes Firefox; the close command also waits for that to finish.
                await SendAsync(new { cmd = "close" }, TimeSpan.FromSeconds(15));
                await _node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
        catch (Exception e)
        {
            AddLog("test", "Firefox did not close, killed: " + e.Message);
        }
        finally
        {
            if (!_node.HasExited)
            {
                _node.Kill(entireProcessTree: true);
                _node.WaitForExit(10_000);
            }

            _node.Dispose();
            DeleteProfile();
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private async Task<JsonElement> SendAsync(object command, TimeSpan? timeout = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var line = JsonSerializer.SerializeToNode(command, JsonOptions)!.AsObject();
        line["id"] = id;
        if (_node.HasExited)
        {
            throw new XunitException($"The Firefox driver has exited (code {_node.ExitCode}).");
        }

        await _node.StandardInput.WriteLineAsync(line.ToJsonString());
        await _node.StandardInput.FlushAsync();
        try
        {
            return await answer.Task.WaitAsync(timeout ?? CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new XunitException($"Firefox did not answer {line.ToJsonString()} within {(timeout ?? CommandTimeout).TotalSeconds} s.");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        JsonElement message;
        try
        {
            message = JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException)
        {
            AddLog("stdout", line);
            return;
        }

        if (message.TryGetProperty("event", out var kind))
        {
            var text = message.TryGetProperty("text", out var t) ? t.GetString() : null;
            switch (kind.GetString())
            {
                case "ready":
                    _ready.TrySetResult(message.GetProperty("version").GetString() ?? string.Empty);
                    break;
                case "console":
                    var type = message.GetProperty("type").GetString();
                    AddLog("console." + type, text);
                    if (type == "error" && text is not null && !text.StartsWith("Failed to load resource", StringComparison.Ordinal))
                    {
                        AddError(text);
                    }

                    break;
                case "pageerror":
                    AddLog("pageerror", text);
                    AddError(text ?? string.Empty);
                    break;
            }

            return;
        }

        if (message.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.Number
            && _pending.TryGetValue(idElement.GetInt64(), out var answer))
        {
            if (message.GetProperty("ok").GetBoolean())
            {
                answer.TrySetResult(message.TryGetProperty("value", out var value) ? value : default);
            }
            else
            {
                var error = message.GetProperty("error").GetString();
                AddLog("driver", error);
                answer.TrySetException(new XunitException("Firefox: " + error));
            }
        }
    }

    private void FailPending()
    {
        _ready.TrySetException(new InvalidOperationException("the Firefox driver exited"));
        foreach (var answer in _pending.Values)
        {
            answer.TrySetException(new XunitException("The Firefox driver exited before it answered."));
        }
    }

    private void AddLog(string source, string? text)
    {
        if (text is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Add($"[{source}] {text}");
        }
    }

    private void AddError(string text)
    {
        lock (_log)
        {
            _errors.Add(text);
        }
    }

    private void DeleteProfile()
    {
        // Firefox may still be writing its last files for a moment after its process is gone.
        for (var attempt = 0; attempt < 10 && Directory.Exists(_profile); attempt++)
        {
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
                Thread.Sleep(200);
            }
        }
    }
}
