namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Whether a participant's media may flow (the waiting room's gate, product rule R3). Checked per packet on both ends:
/// a producer whose owner's gate is shut forwards nothing, a consumer whose owner's gate is shut receives nothing.
/// </summary>
/// <remarks>
/// A class of its own that the participant holds, not an interface the participant implements: read on every packet,
/// several times, it is a field read rather than a call through an interface's dispatch stub.
/// </remarks>
internal sealed class MediaGate
{
    /// <summary>A gate that is always open (the connection test); it cannot be shut.</summary>
    public static readonly MediaGate AlwaysOpen = new(open: true, fixedOpen: true);

    private readonly bool _fixedOpen;
    private volatile bool _open;
    private int _generation;

    public MediaGate()
        : this(open: false, fixedOpen: false)
    {
    }

    private MediaGate(bool open, bool fixedOpen)
    {
        _open = open;
        _fixedOpen = fixedOpen;
    }

    public bool IsOpen => _open;

    /// <summary>
    /// Changes each time the gate opens. A consumer whose publisher was sent back to the waiting room sees none of the
    /// packets its producer dropped meanwhile; the changed generation tells it that its stream was cut, so it resumes
    /// on a keyframe with continuous numbering.
    /// </summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Opens the gate; true when it was shut (the generation then moved on before it opened).</summary>
    public bool Open()
    {
        if (_open)
        {
            return false;
        }

        Interlocked.Increment(ref _generation);
        _open = true;
        return true;
    }

    /// <summary>Shuts the gate; true when it was open.</summary>
    public bool Shut()
    {
        if (_fixedOpen)
        {
            throw new InvalidOperationException("The connection test's gate is always open.");
        }

        if (!_open)
        {
            return false;
        }

        _open = false;
        return true;
    }
}
