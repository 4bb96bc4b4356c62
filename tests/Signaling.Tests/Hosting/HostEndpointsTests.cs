using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.Signaling.Tests.Hosting;

public sealed class HostEndpointsTests : IDisposable
{
    private readonly TestServer _server = new();

    [Fact]
    public async Task Healthz_reports_database_and_media_sockets()
    {
        using var client = _server.CreateClient();
        using var response = await client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        var checks = body.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("media-sockets").GetProperty("status").GetString());
        Assert.True(File.Exists(Path.Combine(_server.DataPath, "teletherapy.db")), "the embedded SQLite database lives in the data folder");
    }

    [Fact]
    public async Task Healthz_is_503_when_the_media_sockets_are_not_bound()
    {
        using var client = _server.CreateClient();
        _server.Services.GetRequiredService<MediaSockets>().Dispose();

        using var response = await client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("media sockets are not bound", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_expose_build_info_in_prometheus_text()
    {
        using var client = _server.CreateClient();
        using var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE teletherapy_build_info gauge", text, StringComparison.Ordinal);
        Assert.Matches(@"teletherapy_build_info\{version=""[^""]+"",runtime=""[^""]+""\} 1", text);
    }

    /// <summary>
    /// Ours, the process's and the HTTP metrics, and not every .NET EventCounter and Meter translated (a poller thread and
    /// a callback on every measurement of every meter, named by no dashboard or tool of ours).
    /// </summary>
    [Fact]
    public async Task Metrics_are_ours_the_processes_and_the_http_ones_only()
    {
        using var client = _server.CreateClient();
        (await client.GetAsync("/healthz")).Dispose();
        var first = await client.GetStringAsync("/metrics");
        (await client.GetAsync("/api/v1/clinic")).Dispose();
        var text = await client.GetStringAsync("/metrics");

        var families = Regex.Matches(first + text, @"^# TYPE (\S+) ", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value)
            .ToHashSet();
        Assert.Contains("process_cpu_seconds_total", families);
        Assert.Contains("process_working_set_bytes", families);
        Assert.Contains("dotnet_total_memory_bytes", families);
        Assert.Contains("dotnet_collection_count_total", families);
        Assert.Contains("http_requests_received_total", families);
        var foreign = families.Where(f => !f.StartsWith("teletherapy_", StringComparison.Ordinal)
            && !f.StartsWith("process_", StringComparison.Ordinal)
            && !f.StartsWith("http_request", StringComparison.Ordinal)
            && f is not ("dotnet_total_memory_bytes" or "dotnet_collection_count_total"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(foreign.Count == 0, "metrics from elsewhere: " + string.Join(", ", foreign));
    }

    [Fact]
    public async Task OpenApi_document_is_served()
    {
        using var client = _server.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.", body.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.True(body.RootElement.TryGetProperty("paths", out _));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/check")]
    [InlineData("/schedule/calendar")]
    [InlineData("/join/some-token")]
    [InlineData("/session/4b1b0f0e-8d4e-4a4b-9f43-0d5c4a1f2e11")]
    [InlineData("/portal")]
    public async Task Page_routes_serve_the_web_client(string path)
    {
        using var client = _server.CreateClient();
        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<div id=\"app\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_api_paths_are_404_not_the_web_client()
    {
        using var client = _server.CreateClient();
        using var response = await client.GetAsync("/api/v1/does-not-exist");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    public void Dispose() => _server.Dispose();
}
