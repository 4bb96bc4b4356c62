namespace Teletherapy.Scheduling.Join;

/// <summary>The answer of a join rule: allowed, or refused with a reason from <see cref="JoinReasons"/>.</summary>
public sealed record JoinDecision(bool Allowed, string? Reason)
{
    public static JoinDecision Allow { get; } = new(true, null);

    public static JoinDecision Refuse(string reason) => new(false, reason);
}
