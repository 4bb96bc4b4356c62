namespace Teletherapy.MediaRelay.Fuzz;

/// <summary>
/// One parser of untrusted bytes under fuzzing: the relay's entry points it calls on a datagram, a stream or a text,
/// with cheap invariants on what they return. <see cref="Run"/> catches nothing: an exception leaving it is a finding.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>Short name used on the command line and in the report.</summary>
    public abstract string Name { get; }

    /// <summary>The relay's methods the target calls, for the report.</summary>
    public abstract string EntryPoints { get; }

    /// <summary>Offsets of 16-bit length fields in the seeds, for the mutator's length tweaks.</summary>
    public virtual int[] LengthOffsets => [];

    /// <summary>Valid inputs to start from: corpus files (see <see cref="Corpus"/>) and packets made by the relay's writers.</summary>
    public abstract IEnumerable<byte[]> Seeds(Corpus corpus);

    /// <summary>The next input; by default a byte-level mutation of a corpus entry.</summary>
    public virtual byte[] Next(PacketMutator mutator) => mutator.Next();

    /// <summary>Runs the relay's code on one input; true when the input was accepted as a whole (for the acceptance rate).</summary>
    public abstract bool Run(byte[] input);
}

/// <summary>An invariant of a parser's result did not hold: a finding like an exception.</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);

internal static class Check
{
    public static void That(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(what);
        }
    }
}

internal static class Bytes
{
    /// <summary>Bytes from hex with spaces between groups, as RFCs print packets.</summary>
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
}
