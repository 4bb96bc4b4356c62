namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Which of a producer's simulcast encodings a consumer forwards: the target its subscriber's allocator chose and the one
/// flowing now. A switch completes on the first keyframe of the target; until then the current encoding goes on, so the
/// picture never stops while the keyframe is on its way. Not thread-safe: used under the consumer's lock, but for
/// <see cref="Target"/>, <see cref="Current"/> and <see cref="CurrentSince"/>, which may be read without it.
/// </summary>
internal sealed class LayerSelection
{
    private const int Paused = Consumer.Paused;

    private int _target;
    private int _current;
    private long _currentSince;
    private bool _climbPending;
    private readonly RoutingClock _clock;

    /// <summary>
    /// Starts on <paramref name="target"/>: at once, or with <paramref name="awaitKeyFrame"/> (video) on its first
    /// keyframe.
    /// </summary>
    public LayerSelection(int target, bool awaitKeyFrame, RoutingClock? clock = null)
    {
        _clock = clock ?? RoutingClock.System;
        _target = target;
        _current = awaitKeyFrame ? Paused : target;
        NeedsKeyFrame = awaitKeyFrame;
    }

    /// <summary>The encoding to take (<see cref="Consumer.Paused"/>: none).</summary>
    public int Target => Volatile.Read(ref _target);

    /// <summary>The encoding forwarded now (<see cref="Consumer.Paused"/> before the first keyframe and while stopped).</summary>
    public int Current => Volatile.Read(ref _current);

    /// <summary><see cref="RoutingClock"/> timestamp of the last change of <see cref="Current"/> (0 before the first).</summary>
    public long CurrentSince => Volatile.Read(ref _currentSince);

    /// <summary>Nothing goes out before a keyframe of the target: at the start, and after every restart.</summary>
    public bool NeedsKeyFrame { get; private set; }

    /// <summary>Switches done: to a new encoding on its keyframe once anything was sent, or to <see cref="Consumer.Paused"/>.</summary>
    public int Switches { get; private set; }

    /// <summary>A restart: the stream goes on only from the next keyframe of the target.</summary>
    public void RequireKeyFrame() => NeedsKeyFrame = true;

    /// <summary>
    /// A new target. <paramref name="immediate"/> stops the current encoding at once instead of at the target's keyframe;
    /// <see cref="Consumer.Paused"/> always does. Any other move waits for the keyframe and counts as a climb for
    /// <see cref="Select"/> to report, unless <paramref name="climb"/> is false (a move down that need not hurry). Returns
    /// whether the producer should be asked for a keyframe of the target.
    /// </summary>
    public bool Retarget(int encoding, bool immediate, bool climb = true)
    {
        var changed = encoding != _target;
        _target = encoding;
        _climbPending = climb && !immediate && encoding != Paused;
        if (encoding == _current && !NeedsKeyFrame)
        {
            // Back to the layer still flowing (a pending switch given up): nothing to stop, no keyframe to wait for.
            return false;
        }

        if ((immediate || encoding == Paused) && changed && _current != Paused)
        {
            _current = Paused;
            Volatile.Write(ref _currentSince, _clock.Now);
            if (encoding == Paused)
            {
                CountSwitch();
            }
        }

        return changed && encoding >= 0;
    }

    /// <summary>
    /// What to do with a video packet of <paramref name="encoding"/>. A keyframe of the target completes a pending switch
    /// (counted when <paramref name="countSwitch"/>: not the very start). <paramref name="climbedFrom"/> is the encoding
    /// left when that switch was a climb from a flowing one, whose outcome is worth watching; <see cref="Consumer.Paused"/>
    /// otherwise.
    /// </summary>
    public LayerStep Select(int encoding, bool isKeyFrame, bool countSwitch, out int climbedFrom)
    {
        climbedFrom = Paused;
        var target = _target;
        if (target == Paused)
        {
            return LayerStep.Drop;
        }

        if (encoding == target && (target != _current || NeedsKeyFrame))
        {
            if (!isKeyFrame)
            {
                return LayerStep.AwaitKeyFrame;
            }

            var switched = _current != target;
            if (switched)
            {
                if (countSwitch)
                {
                    CountSwitch();
                }

                Volatile.Write(ref _currentSince, _clock.Now);
                if (_climbPending && _current != Paused)
                {
                    climbedFrom = _current;
                }

                _climbPending = false;
            }

            _current = target;
            NeedsKeyFrame = false;
            return switched ? LayerStep.Switched : LayerStep.Forward;
        }

        return encoding == _current && !NeedsKeyFrame ? LayerStep.Forward : LayerStep.Drop;
    }

    private void CountSwitch()
    {
        Switches++;
        RelayMetrics.LayerSwitches.Inc();
    }
}

/// <summary>What <see cref="LayerSelection.Select"/> makes of one video packet.</summary>
internal enum LayerStep
{
    /// <summary>Not the encoding forwarded now, or one waiting for its keyframe.</summary>
    Drop,

    /// <summary>The target's, but not the keyframe a switch or restart waits for: drop it and ask the producer for one.</summary>
    AwaitKeyFrame,

    /// <summary>Forward it.</summary>
    Forward,

    /// <summary>The keyframe that completes a switch: forward it, continuing the numbering from what the subscriber saw last.</summary>
    Switched,
}
