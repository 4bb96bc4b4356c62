using Microsoft.AspNetCore.Http.HttpResults;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// <c>application/problem+json</c> responses with a machine-readable <c>reason</c> (api.md: errors name the rule).
/// </summary>
internal static class Problems
{
    public static ProblemHttpResult Create(int status, string reason, string title, string? detail = null, IDictionary<string, object?>? extra = null)
    {
        var extensions = new Dictionary<string, object?> { ["reason"] = reason };
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                extensions[key] = value;
            }
        }

        return TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    /// <summary>400 naming the offending field (also as <c>errors[field]</c>, the shape ASP.NET Core validation uses).</summary>
    public static ProblemHttpResult Validation(string field, string message) =>
        Create(StatusCodes.Status400BadRequest, "validation", "The request is not valid.", message, new Dictionary<string, object?>
        {
            ["field"] = field,
            ["errors"] = new Dictionary<string, string[]> { [field] = [message] },
        });

    public static ProblemHttpResult NotFound(string detail) =>
        Create(StatusCodes.Status404NotFound, "not-found", "Not found.", detail);
}
