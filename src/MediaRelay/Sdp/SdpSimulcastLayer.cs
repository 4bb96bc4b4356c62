namespace Teletherapy.MediaRelay.Sdp;

/// <summary>One rid in an <c>a=simulcast</c> stream list; a leading '~' marks it paused (RFC 8853 §5.1).</summary>
internal sealed record SdpSimulcastLayer(string Rid, bool Paused = false)
{
    public override string ToString() => Paused ? $"~{Rid}" : Rid;
}
