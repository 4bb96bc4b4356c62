
namespace Teletherapy.MediaRelay.Ice;

/// <summary>
/// The candidate pairs an ICE-lite agent has seen valid checks on (one path each: the transport's way back to that remote): which are
/// nominated, at what priority, when each last passed a check, and which one media is sent on.
/// <para>
/// A browser with aggressive nomination may nominate several pairs (Firefox does when our answer to its first check
/// is slower than its pacing). The controlled agent then uses the highest-priority nominated pair (RFC 8445 §8.1.1,
/// §7.3.1.5), not the one nominated last; it moves to a lower-priority one only when the selected pair's consent
/// lapses (RFC 7675 §5.1) or when an ICE restart (RFC 8445 §9) starts nomination over.
/// </para>
/// Not thread-safe: the owning transport serializes calls. Nothing here allocates once a path is known.
/// </summary>
internal sealed class IceCandidatePairs<TPath>
    where TPath : class, IIceCandidatePath
{
    /// <summary>A pair with no valid check for this long has lost consent (RFC 7675 §5.1).</summary>
    public static readonly TimeSpan ConsentTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly List<Pair> _pairs = [];
    private Pair? _selected;
    private int _restartsTakenUp;

    public IceCandidatePairs(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>The path media goes on, or null before the first valid check.</summary>
    public TPath? Selected => _selected?.Path;

    public int Count => _pairs.Count;

    public TPath this[int index] => _pairs[index].Path;

    /// <summary>
    /// Records an authenticated check on <paramref name="path"/> and chooses the path again. Returns true when the
    /// path is new, so the caller binds it.
    /// </summary>
    /// <param name="remotePriority">The check's PRIORITY attribute (RFC 8445 §7.1.1).</param>
    /// <param name="nominated">The check carried USE-CANDIDATE.</param>
    /// <param name="restartsTakenUp">
    /// <see cref="IceLiteAgent.RestartsTakenUp"/> after the check: when it grew, the browser has moved to the
    /// credentials of an ICE restart and every earlier nomination is void (RFC 8445 §9).
    /// </param>
    /// <param name="now">When the check arrived (<see cref="TimeProvider.GetTimestamp"/>).</param>
    public bool OnValidCheck(TPath path, uint remotePriority, bool nominated, int restartsTakenUp, long now)
    {
        if (restartsTakenUp > _restartsTakenUp)
        {
            _restartsTakenUp = restartsTakenUp;
            foreach (var known in _pairs)
            {
                // Media stays on the selected path until the browser nominates one with the new credentials.
                known.Nominated = false;
            }
        }

        var pair = Find(path);
        var added = pair is null;
        if (pair is null)
        {
            pair = new Pair(path);
            _pairs.Add(pair);
        }

        pair.LastCheck = Math.Max(pair.LastCheck, now);
        pair.Nominated |= nominated;

        // G is the browser's (controlling) candidate, known from PRIORITY; D is ours, known from the path's transport
        // (one socket serves every announced address, so the first address's local preference stands for them all).
        pair.Priority = IceCandidatePriority.Pair(remotePriority, IceCandidatePriority.Host(path.Key.IsTcp));

        // Before any nomination, media may go on the first valid path (RFC 8445 §7.3.1.5).
        if (_selected is null || Outranks(pair, _selected))
        {
            _selected = pair;
        }

        ReselectIfConsentLapsed(now);
        return added;
    }

    /// <summary>
    /// RFC 7675 §5.1: when the selected pair has had no valid check for <see cref="ConsentTimeout"/> while another
    /// nominated pair has, media moves to the best such pair. The lapsed pair needs a new nomination to be used again.
    /// Returns true when the path changed.
    /// </summary>
    public bool ReselectIfConsentLapsed(long now)
    {
        if (_selected is null || IsAlive(_selected, now))
        {
            return false;
        }

        Pair? best = null;
        foreach (var pair in _pairs)
        {
            if (pair.Nominated && IsAlive(pair, now) && (best is null || pair.Priority > best.Priority))
            {
                best = pair;
            }
        }

        if (best is null)
        {
            return false;
        }

        _selected.Nominated = false;
        _selected = best;
        return true;
    }

    /// <summary>Forgets a closed path; if it was selected, the best nominated path left takes over, else the newest.</summary>
    public void Remove(TPath path)
    {
        var pair = Find(path);
        if (pair is null)
        {
            return;
        }

        _pairs.Remove(pair);
        if (!ReferenceEquals(pair, _selected))
        {
            return;
        }

        _selected = _pairs.Count > 0 ? _pairs[^1] : null;
        foreach (var candidate in _pairs)
        {
            if (Outranks(candidate, _selected!))
            {
                _selected = candidate;
            }
        }
    }

    public void Clear()
    {
        _pairs.Clear();
        _selected = null;
    }

    /// <summary>A nominated pair beats one that is not (or no longer, after an ICE restart), else the higher priority wins.</summary>
    private static bool Outranks(Pair candidate, Pair selected) =>
        candidate.Nominated && (!selected.Nominated || candidate.Priority > selected.Priority);

    private bool IsAlive(Pair pair, long now) => _time.GetElapsedTime(pair.LastCheck, now) < ConsentTimeout;

    private Pair? Find(TPath path)
    {
        foreach (var pair in _pairs)
        {
            if (ReferenceEquals(pair.Path, path))
            {
                return pair;
            }
        }

        return null;
    }

    private sealed class Pair(TPath path)
    {
        public TPath Path { get; } = path;

        /// <summary>Nominated in the current ICE generation and not since lost consent.</summary>
        public bool Nominated { get; set; }

        /// <summary>Pair priority (RFC 8445 §6.1.2.3) from the last valid check.</summary>
        public ulong Priority { get; set; }

        /// <summary>When the last valid check arrived.</summary>
        public long LastCheck { get; set; }
    }
}

/// <summary>A path to one remote candidate, as the transport keeps it; ICE needs only its address and protocol.</summary>
internal interface IIceCandidatePath
{
    RemoteKey Key { get; }
}
