using Teletherapy.MediaRelay.Negotiation;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// What a <see cref="BandwidthAllocator"/> sees of a consumer: its kind, the layer it takes and the one flowing, the
/// rates its producer's encodings arrive with, and which of them are larger than its subscriber shows the track. <see cref="Consumer"/> is the one in the relay; the allocator's own tests
/// give it tracks of their making, so its choices can be checked without sockets or sleeps.
/// </summary>
internal interface ILayeredConsumer
{
    MediaKind Kind { get; }

    bool IsClosed { get; }

    /// <summary>The encoding to take (<see cref="Consumer.Paused"/>: no video).</summary>
    int TargetEncoding { get; }

    /// <summary>The encoding forwarded now (<see cref="Consumer.Paused"/> before the first keyframe and in audio-only).</summary>
    int CurrentEncoding { get; }

    /// <summary><see cref="RoutingClock"/> timestamp of the last change of <see cref="CurrentEncoding"/> (0 before the first).</summary>
    long CurrentSince { get; }

    /// <summary>The encoding left only because the publisher paused it (<see cref="Consumer.ReturnEncoding"/>).</summary>
    int ReturnEncoding { get; set; }

    /// <summary>The producer's encodings.</summary>
    int EncodingCount { get; }

    /// <summary>What an encoding arrives with now in bit/s, 0 when it is not sending.</summary>
    long GetEncodingBitrate(int encoding);

    bool IsEncodingActive(int encoding);

    /// <summary>Sets the target (<see cref="Consumer.SwitchTo"/>).</summary>
    void SwitchTo(int encoding, bool immediate);

    /// <summary>Whether an encoding is larger than the subscriber's view of the track needs (<see cref="Consumer.ExceedsView"/>).</summary>
    bool ExceedsView(int encoding);

    /// <summary>Sets a lower target because the view got smaller (<see cref="Consumer.SwitchDownForView"/>).</summary>
    void SwitchDownForView(int encoding);
}
