namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>The kind of a track, as the SDP m-line names it.</summary>
internal enum MediaKind
{
    Audio,
    Video,
}
