using System.Diagnostics;

namespace Teletherapy.LoadTests;

/// <summary>
/// One session of the load: a therapist and one or more contacts of the appointment's patient, each publishing and
/// receiving everyone else (one contact: today's 1:1 session).
/// </summary>
internal sealed class LoadSession : IDisposable
{
    private readonly List<double> _joinMs = [];

    public LoadSession(int index, MediaParticipant therapist, IReadOnlyList<MediaParticipant> contacts)
    {
        if (contacts.Count == 0)
        {
            throw new ArgumentException("A session has at least one contact.", nameof(contacts));
        }

        Index = index;
        Therapist = therapist;
        Contacts = contacts;
        Participants = [therapist, .. contacts];
    }

    public int Index { get; }

    public MediaParticipant Therapist { get; }

    /// <summary>The contacts who join with their own link, in the order of the patient's contacts (the first is primary).</summary>
    public IReadOnlyList<MediaParticipant> Contacts { get; }

    /// <summary>The first contact: the patient of a 1:1 session.</summary>
    public MediaParticipant Patient => Contacts[0];

    /// <summary>The therapist, then the contacts: every publisher, each received by all the others.</summary>
    public IReadOnlyList<MediaParticipant> Participants { get; }

    /// <summary>Each contact's join (JoinWithToken, or Janus's publisher join) until accepted, in ms.</summary>
    public IReadOnlyList<double> JoinMs
    {
        get
        {
            lock (_joinMs)
            {
                return [.. _joinMs];
            }
        }
    }

    /// <summary>Stopwatch timestamp of the therapist's first Admit (Janus: the patient's subscribe start).</summary>
    public long AdmitTimestamp { get; set; }

    /// <summary>From <see cref="AdmitTimestamp"/> until the last contact's first media packet, in ms.</summary>
    public double? AdmitToFirstPacketMs { get; set; }

    public bool Up { get; set; }

    public string? Error { get; set; }

    /// <summary>Whatever the target keeps per session (hub connections, Janus handles).</summary>
    public object? TargetState { get; set; }

    /// <summary>Contacts join concurrently, each recording its own join time.</summary>
    public void RecordJoin(double milliseconds)
    {
        lock (_joinMs)
        {
            _joinMs.Add(milliseconds);
        }
    }

    /// <summary>Sets <see cref="AdmitToFirstPacketMs"/> once every contact has received its first packet.</summary>
    public void RecordAdmitToFirstPacket() =>
        AdmitToFirstPacketMs = (Contacts.Max(c => c.FirstPacketTimestamp) - AdmitTimestamp) * 1000.0 / Stopwatch.Frequency;

    /// <summary>
    /// Packets received so far on each track of the session that should flow: every participant's audio and video at
    /// every other participant (with <paramref name="listenersOnly"/>, every other that listens), in a fixed order (two
    /// entries per subscriber and publisher).
    /// </summary>
    public long[] ReceivedTracks(bool listenersOnly = false)
    {
        var subscribers = listenersOnly ? Participants.Where(p => p.Listens).ToList() : Participants;
        var counts = new long[subscribers.Count * (Participants.Count - 1) * 2];
        var i = 0;
        foreach (var subscriber in subscribers)
        {
            foreach (var publisher in Participants)
            {
                if (publisher != subscriber)
                {
                    (counts[i], counts[i + 1]) = subscriber.ReceivedFrom(publisher);
                    i += 2;
                }
            }
        }

        return counts;
    }

    /// <summary>
    /// Waits until every participant receives every other participant's audio and video. Polled: the packets arrive
    /// on the transports' receive threads, and setup waits on many sessions at once.
    /// </summary>
    public async Task WaitUntilEveryoneReceivesEveryoneAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Array.IndexOf(ReceivedTracks(), 0L) is var missing && missing >= 0)
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"Not every participant received every other's media within {timeout.TotalSeconds:0} s (first missing: {DescribeTrack(missing)}).");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether every participant's transports are still open: a client stops for good when its consent checks go
    /// unanswered for 30 s (RFC 7675), and a session up without media would otherwise only show as loss.
    /// </summary>
    public bool HasMedia => Participants.All(p => p.IsPublishing && p.IsReceiving);

    public void Dispose()
    {
        foreach (var participant in Participants)
        {
            participant.Dispose();
        }
    }

    /// <summary>"t3's video at p3.2" for the <paramref name="index"/>th entry of <see cref="ReceivedTracks"/>.</summary>
    private string DescribeTrack(int index)
    {
        var others = Participants.Count - 1;
        var subscriber = index / 2 / others;
        var publisher = index / 2 % others;
        publisher += publisher >= subscriber ? 1 : 0;
        return $"{Participants[publisher].Name}'s {(index % 2 == 0 ? "audio" : "video")} at {Participants[subscriber].Name}";
    }
}
