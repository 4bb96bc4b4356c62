using System.Text.Json;
using Prometheus;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// The browser's protections on every response: a Content-Security-Policy that allows only this origin (no inline
/// script or style, no framing), no referrer (join tokens are in page URLs), no MIME sniffing, and camera, microphone
/// and screen capture for this origin only. Violations are reported to <see cref="ReportPath"/> and counted.
/// </summary>
internal sealed class SecurityHeaders(RequestDelegate next)
{
    public const string ReportPath = "/api/v1/csp-reports";

    /// <summary>'self' covers ws:/wss: of the same host for the hub (CSP level 3); blob: and data: for media and the icon.</summary>
    public const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; " +
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
        "report-uri " + ReportPath;

    public const string PermissionsPolicy =
        "camera=(self), microphone=(self), display-capture=(self), autoplay=(self), fullscreen=(self), geolocation=(), payment=(), usb=()";

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = Policy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Permissions-Policy"] = PermissionsPolicy;
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        return next(context);
    }
}

/// <summary>Receives the browsers' CSP violation reports: counted per directive, never stored (their URLs can hold join tokens).</summary>
internal static partial class CspReports
{
    private const int MaxReportBytes = 16 * 1024;

    private static readonly string[] KnownDirectives =
    [
        "default-src", "script-src", "script-src-elem", "script-src-attr", "style-src", "style-src-elem", "style-src-attr",
        "img-src", "media-src", "connect-src", "font-src", "object-src", "base-uri", "form-action", "frame-ancestors",
        "frame-src", "worker-src", "manifest-src",
    ];

    private static readonly Counter Violations = Metrics.CreateCounter(
        "teletherapy_csp_violations_total", "Content-Security-Policy violations browsers reported, by directive.", "directive");

    public static IEndpointRouteBuilder MapCspReports(this IEndpointRouteBuilder app)
    {
        app.MapPost(SecurityHeaders.ReportPath, ReceiveAsync)
            .Accepts<JsonElement>("application/csp-report", "application/reports+json", "application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithName("ReportCspViolation")
            .WithSummary("Where browsers report Content-Security-Policy violations (report-uri); counted in teletherapy_csp_violations_total.");
        return app;
    }

    private static async Task<IResult> ReceiveAsync(HttpContext context, ILoggerFactory loggers)
    {
        if (context.Request.ContentLength is > MaxReportBytes)
        {
            return TooLarge();
        }

        using var buffer = new MemoryStream();
        var read = new byte[4096];
        int n;
        while ((n = await context.Request.Body.ReadAsync(read, context.RequestAborted)) > 0)
        {
            if (buffer.Length + n > MaxReportBytes)
            {
                return TooLarge();
            }

            buffer.Write(read, 0, n);
        }

        List<string> directives;
        try
        {
            directives = DirectivesOf(buffer.ToArray());
        }
        catch (JsonException)
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, ApiProblems.Validation, "Not a Content-Security-Policy report.");
        }

        var logger = loggers.CreateLogger(typeof(CspReports));
        foreach (var directive in directives)
        {
            Violations.WithLabels(directive).Inc();
            LogViolation(logger, directive);
        }

        return TypedResults.NoContent();
    }

    private static IResult TooLarge() =>
        ApiProblems.Problem(StatusCodes.Status413PayloadTooLarge, ApiProblems.Validation, $"A report has at most {MaxReportBytes} bytes.");

    /// <summary>The violated directive of each report: the classic <c>csp-report</c> object or the Reporting API's array.</summary>
    internal static List<string> DirectivesOf(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        var found = new List<string>();
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("csp-report", out var classic) && classic.ValueKind == JsonValueKind.Object)
        {
            found.Add(Directive(classic, "effective-directive", "violated-directive"));
        }
        else if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var report in root.EnumerateArray())
            {
                if (report.ValueKind != JsonValueKind.Object || !report.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("A report without a body.");
                }

                found.Add(Directive(body, "effectiveDirective", "violatedDirective"));
            }
        }

        return found.Count > 0 ? found : throw new JsonException("Neither a csp-report object nor a list of reports.");
    }

    /// <summary>A known directive name or <c>other</c>: the label set stays fixed whatever a client sends.</summary>
    private static string Directive(JsonElement report, string effective, string violated)
    {
        foreach (var name in new[] { effective, violated })
        {
            if (report.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                var directive = value.GetString()!.Split(' ', 2)[0];
                return KnownDirectives.Contains(directive) ? directive : "other";
            }
        }

        return "other";
    }

    [LoggerMessage(EventId = 2600, Level = LogLevel.Warning, Message = "A browser reported a Content-Security-Policy violation of {Directive}")]
    private static partial void LogViolation(ILogger logger, string directive);
}
