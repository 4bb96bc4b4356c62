namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Whether a participant's media may flow (the waiting room's gate, product rule R3). Checked per packet on
/// both ends: a producer whose owner's gate is shut forwards nothing, a consumer whose owner's gate is shut
/// receives nothing.
/// </summary>
internal interface IMediaGate
{
    bool IsOpen { get; }

    /// <summary>
    /// Changes each time the gate opens. A consumer whose publisher was sent back to the waiting room sees none of the
    /// packets its producer dropped meanwhile; the changed generation tells it that its stream was cut, so it resumes
    /// on a keyframe with continuous numbering.
    /// </summary>
    int Generation { get; }
}

/// <summary>A gate that is always open (the connection test).</summary>
internal sealed class OpenGate : IMediaGate
{
    public static readonly OpenGate Instance = new();

    public bool IsOpen => true;

    public int Generation => 0;
}
