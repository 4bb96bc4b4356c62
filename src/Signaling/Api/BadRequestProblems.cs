using System.Text.Json;

namespace Teletherapy.Signaling.Api;

/// <summary>
/// Turns a request the framework cannot bind (malformed JSON, a wrong type, a missing body) into a 400
/// <c>application/problem+json</c> with <c>reason: "validation"</c> and the field named, like every other validation error.
/// </summary>
internal sealed class BadRequestProblems(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var field = FieldOf(ex);
            context.Response.Clear();
            await ApiProblems.Invalid(field, ex.InnerException is JsonException ? "The value could not be read (check the type and format, e.g. ISO 8601 times with offset)." : ex.Message)
                .ExecuteAsync(context);
        }
    }

    private static string FieldOf(BadHttpRequestException ex)
    {
        if (ex.InnerException is JsonException { Path: { Length: > 0 } path })
        {
            var trimmed = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
            return trimmed.Length == 0 ? "body" : trimmed;
        }

        return "body";
    }
}
