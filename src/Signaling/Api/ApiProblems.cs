using Teletherapy.Scheduling;

namespace Teletherapy.Signaling.Api;

/// <summary>Every API error is <c>application/problem+json</c> with a <c>reason</c> member naming the rule.</summary>
internal static class ApiProblems
{
    public const string Validation = "validation";
    public const string NotFound = "not-found";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string InvalidCredentials = "invalid-credentials";

    public static IResult Problem(int status, string reason, string title, string? detail = null, IDictionary<string, object?>? extra = null)
    {
        var extensions = new Dictionary<string, object?> { ["reason"] = reason };
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                extensions[key] = value;
            }
        }

        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    /// <summary>400 naming each failed field: <c>errors</c> maps field → messages, <c>field</c> is the first one.</summary>
    public static IResult Invalid(IReadOnlyList<ValidationError> errors) =>
        Results.Problem(
            title: "The request is not valid.",
            detail: string.Join(" ", errors.Select(e => $"{e.Field}: {e.Message}")),
            statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?>
            {
                ["reason"] = Validation,
                ["field"] = errors.Count > 0 ? errors[0].Field : null,
                ["errors"] = errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            });

    public static IResult Invalid(string field, string message) => Invalid([new ValidationError(field, message)]);

    public static IResult NotFoundProblem(string what = "The resource was not found.") =>
        Problem(StatusCodes.Status404NotFound, NotFound, what);

    /// <summary>Maps a use-case result: Ok → <paramref name="ok"/>, Invalid → 400, NotFound → 404, Conflict → 409 with its reason.</summary>
    public static IResult From<T>(Result<T> result, Func<T, IResult> ok) => result.Status switch
    {
        ResultStatus.Ok => ok(result.Value!),
        ResultStatus.Invalid => Invalid(result.Errors),
        ResultStatus.Conflict => Problem(StatusCodes.Status409Conflict, result.Reason ?? "conflict", "This cannot be done now."),
        _ => NotFoundProblem(),
    };
}
