namespace Teletherapy.Scheduling;

/// <summary>A field that failed validation and why (the API answers 400 naming the field).</summary>
public sealed record ValidationError(string Field, string Message);

/// <summary>How a use case ended.</summary>
public enum ResultStatus
{
    Ok,
    Invalid,
    NotFound,

    /// <summary>The request is valid but the state does not allow it now (the API answers 409 with <see cref="Result{T}.Reason"/>).</summary>
    Conflict,
}

// Static factories on the generic type read best at the call sites (Result<T>.Invalid(...)).
#pragma warning disable CA1000
/// <summary>The outcome of a use case: a value, validation errors (nothing was saved), or not found.</summary>
public sealed class Result<T>
{
    private Result(ResultStatus status, T? value, IReadOnlyList<ValidationError> errors, string? reason = null)
    {
        Status = status;
        Value = value;
        Errors = errors;
        Reason = reason;
    }

    public ResultStatus Status { get; }

    public T? Value { get; }

    public IReadOnlyList<ValidationError> Errors { get; }

    /// <summary>The rule a <see cref="ResultStatus.Conflict"/> names (e.g. <c>already-set-up</c>).</summary>
    public string? Reason { get; }

    public bool IsOk => Status == ResultStatus.Ok;

    internal static Result<T> Ok(T value) => new(ResultStatus.Ok, value, []);

    internal static Result<T> Invalid(IReadOnlyList<ValidationError> errors) => new(ResultStatus.Invalid, default, errors);

    internal static Result<T> Invalid(string field, string message) => Invalid([new ValidationError(field, message)]);

    internal static Result<T> NotFound() => new(ResultStatus.NotFound, default, []);

    internal static Result<T> Conflict(string reason) => new(ResultStatus.Conflict, default, [], reason);

    /// <summary>The value of a successful result.</summary>
    internal T Unwrap() => IsOk ? Value! : throw new InvalidOperationException($"The result is {Status}: {string.Join("; ", Errors.Select(e => $"{e.Field}: {e.Message}"))}");
}

#pragma warning restore CA1000

/// <summary>Collects validation errors for one request.</summary>
internal sealed class Validation
{
    private readonly List<ValidationError> _errors = [];

    public bool HasErrors => _errors.Count > 0;

    public IReadOnlyList<ValidationError> Errors => _errors;

    public Validation Add(string field, string message)
    {
        _errors.Add(new ValidationError(field, message));
        return this;
    }

    public void Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            Add(field, message);
        }
    }

    public static bool LooksLikeEmail(string? value) =>
        value is { Length: >= 3 and <= 254 } && value.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < value.Length - 1 && !value.Any(char.IsWhiteSpace);

    public static string? NormalizeEmail(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim().ToLowerInvariant();
}
