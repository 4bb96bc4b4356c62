using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// The VP8 payload descriptor (RFC 7741 §4.2) of a publisher's RTP payload: the keyframe test of the producer, and the
/// PictureID/TL0PICIDX rewriting of a subscriber's stream across layer switches.
/// </summary>
internal sealed class Vp8Target : FuzzTarget
{
    private readonly Vp8Numbering _numbering = new();
    private readonly byte[] _copy = new byte[PacketMutator.MaxLength];

    public override string Name => "vp8";

    public override string EntryPoints =>
        "Vp8PayloadDescriptor.TryRead/IsKeyframePayload/TrySetPictureId/TrySetTl0PicIdx and every field, " +
        "Vp8Numbering.Resynchronize/Rewrite (as Consumer does on a layer switch)";

    public override IEnumerable<byte[]> Seeds(Corpus corpus) => [.. corpus.Load(Name), .. Written()];

    /// <summary>Packets made by the relay's own writers, and by hand where they write no such packet.</summary>
    private static IEnumerable<byte[]> Written()
    {
        // X=0; X with a short PictureID; long PictureID + TL0PICIDX + TID/Y/KEYIDX on a keyframe (first payload byte
        // has P=0); non-reference partition 1; only K.
        yield return Bytes.Hex("10 9D012A");
        yield return Bytes.Hex("90 80 2A 31");
        yield return Bytes.Hex("90 F0 9234 56 A5 10 02 9D 01 2A");
        yield return Bytes.Hex("A1 E0 8001 FF 40 01");
        yield return Bytes.Hex("80 10 1F 00");
    }

    public override bool Run(byte[] input)
    {
        Vp8PayloadDescriptor.IsKeyframePayload(input);
        if (!Vp8PayloadDescriptor.TryRead(input, out Vp8PayloadDescriptor descriptor))
        {
            return false;
        }

        Check.That(descriptor.Length >= 1 && descriptor.Length <= input.Length, "descriptor longer than the payload");
        Check.That(descriptor.PictureId is >= -1 and <= 0x7FFF, "PictureID outside 15 bits");
        Check.That(descriptor.Tl0PicIdx is >= -1 and <= 255, "TL0PICIDX outside a byte");
        Check.That(descriptor.TemporalLayerIndex is >= -1 and <= 3, "TID outside 2 bits");
        Check.That(descriptor.KeyIndex is >= -1 and <= 31, "KEYIDX outside 5 bits");
        _ = descriptor.IsLayerSync || descriptor.IsKeyframe || descriptor.IsNonReference || descriptor.HasLongPictureId;
        _ = descriptor.PartitionIndex;

        Span<byte> copy = _copy.AsSpan(0, input.Length);
        input.CopyTo(copy);
        bool hadPictureId = descriptor.HasPictureId;
        Check.That(Vp8PayloadDescriptor.TrySetPictureId(copy, 12345) == hadPictureId, "PictureID set on a payload without one, or not set");
        Vp8PayloadDescriptor.TrySetTl0PicIdx(copy, 9);
        Check.That(Vp8PayloadDescriptor.TryRead(copy, out Vp8PayloadDescriptor after) && after.Length == descriptor.Length, "rewriting changed the descriptor's length");

        // A subscriber switching to this stream, then its packets rewritten onto the numbering sent so far.
        input.CopyTo(copy);
        if (input[0] % 4 == 0)
        {
            _numbering.Resynchronize(copy);
        }

        _numbering.Rewrite(copy, _numbering.Offsets, remember: true);
        Check.That(Vp8PayloadDescriptor.TryRead(copy, out after) && after.Length == descriptor.Length, "renumbering changed the descriptor's length");
        return true;
    }
}
