using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.Signaling.Abuse;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// The rules of the session chat. A message is relayed to the people in the session and forgotten: it is never
/// written to the database, the audit trail or a log (it may be about the patient's health), and nothing of it is kept
/// here but the sender's message budget. A refusal fails the call with its reason and sends nothing:
/// <c>not-in-session</c> (the sender waits, was sent back, or is not in this session), <c>chat-empty</c>,
/// <c>chat-too-long</c> (over <see cref="MaxLength"/> characters), <c>chat-too-fast</c> (over <see cref="Burst"/>
/// messages at once, refilled one every <see cref="RefillEvery"/>).
/// </summary>
internal sealed class SessionChat(TimeProvider time)
{
    public const int MaxLength = 1000;

    /// <summary>Messages a participant may send in a row.</summary>
    public const int Burst = 5;

    /// <summary>One more message is allowed each time this passes (so 30 a minute at length).</summary>
    public static readonly TimeSpan RefillEvery = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Budget> _budgets = new(StringComparer.Ordinal);

    /// <summary>The text as it is sent on: line breaks made \n, other control characters removed, trimmed. Throws when it is empty or too long.</summary>
    public static string Clean(string? text)
    {
        var builder = new StringBuilder(Math.Min(text?.Length ?? 0, MaxLength + 1));
        foreach (var c in (text ?? string.Empty).Replace("\r\n", "\n", StringComparison.Ordinal))
        {
            if (c == '\n' || c == '\t' || !char.IsControl(c))
            {
                builder.Append(c);
            }
        }

        var clean = builder.ToString().Trim();
        if (clean.Length == 0)
        {
            Refuse("chat-empty", "A message needs some text.");
        }

        if (clean.Length > MaxLength)
        {
            Refuse("chat-too-long", $"A message has at most {MaxLength} characters.");
        }

        return clean;
    }

    /// <summary>Takes one message from the participant's budget; throws <c>chat-too-fast</c> when it is spent.</summary>
    public void Spend(string peerKey)
    {
        var budget = _budgets.GetOrAdd(peerKey, _ => new Budget(time.GetTimestamp()));
        if (!budget.TryTake(time))
        {
            Refuse("chat-too-fast", $"At most {Burst} messages at once; wait a moment.");
        }
    }

    /// <summary>The participant left the session: their budget goes.</summary>
    public void Forget(string peerKey) => _budgets.TryRemove(peerKey, out _);

    public static void RefuseNotInSession() => Refuse("not-in-session", "Only people in the session can chat.");

    private static void Refuse(string reason, string words)
    {
        if (reason == "chat-too-fast")
        {
            Throttling.LimitsHit.WithLabels(reason).Inc();
        }

        throw new HubException($"{reason}: {words}");
    }

    /// <summary>A token bucket (<see cref="Burst"/> tokens, one back every <see cref="RefillEvery"/>), on the server's clock.</summary>
    private sealed class Budget(long startedAt)
    {
        private readonly Lock _lock = new();
        private long _refilledAt = startedAt;
        private int _tokens = Burst;

        public bool TryTake(TimeProvider time)
        {
            lock (_lock)
            {
                var now = time.GetTimestamp();
                var refills = (long)(time.GetElapsedTime(_refilledAt, now) / RefillEvery);
                if (refills > 0)
                {
                    _tokens = (int)Math.Min(Burst, _tokens + refills);
                    _refilledAt = _tokens == Burst ? now : _refilledAt + (long)(refills * RefillEvery.TotalSeconds * time.TimestampFrequency);
                }

                if (_tokens == 0)
                {
                    return false;
                }

                _tokens--;
                return true;
            }
        }
    }
}
