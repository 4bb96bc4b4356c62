using Microsoft.AspNetCore.Diagnostics;
using Prometheus;
using Teletherapy.Scheduling.Data;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// While the database cannot be used (PostgreSQL stopped or restarting, SQLite out of space), a request that needs it
/// is answered <c>503</c> with <c>Retry-After</c> and a problem whose reason is <c>unavailable</c>, instead of a 500;
/// the same request succeeds once the database is back. Live sessions do not need the database (see
/// <see cref="Teletherapy.Scheduling.Audit.AuditLog"/> for the events they write meanwhile).
/// </summary>
internal static partial class DatabaseOutage
{
    /// <summary>The problem reason, and the join refusal reason of the session hub.</summary>
    public const string Reason = "unavailable";

    /// <summary>What a client is told to wait before trying again.</summary>
    public const int RetryAfterSeconds = 5;

    public static readonly Counter Refusals = Metrics.CreateCounter(
        "teletherapy_database_unavailable_total",
        "Requests and session joins answered 'unavailable' because the database could not be used, by surface: http, hub.",
        "surface");

    public static IResult Problem() => ApiProblems.Problem(
        StatusCodes.Status503ServiceUnavailable,
        Reason,
        "The service is briefly unavailable.",
        "The clinic's database cannot be reached at the moment. Sessions in progress continue; please try again in a few seconds.",
        new Dictionary<string, object?> { ["retryAfterSeconds"] = RetryAfterSeconds });

    /// <summary>Turns an unhandled database outage into the 503 problem; any other exception goes on to the default handler (500).</summary>
    internal sealed partial class Handler(Database database, ILogger<Handler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (!Database.IsUnavailable(exception) || httpContext.Response.HasStarted)
            {
                return false;
            }

            database.ForgetIdleConnections();
            Refusals.WithLabels("http").Inc();
            // The path may hold a join token: only the method and the error type are logged.
            LogUnavailable(httpContext.Request.Method, exception.GetType().Name);
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Problem().ExecuteAsync(httpContext).ConfigureAwait(false);
            return true;
        }

        [LoggerMessage(EventId = 3300, Level = LogLevel.Warning, Message = "A {Method} request was answered 503: the database is unavailable ({ErrorType})")]
        private partial void LogUnavailable(string method, string errorType);
    }
}
