namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// One closed window of a subscriber's Receiver Reports on one stream: the loss in it (RFC 3550 §6.4.1, in 1/256), the
/// rate that arrived in it (bit/s), and when it began (<see cref="RoutingClock"/>).
/// </summary>
internal readonly record struct LossWindow(int Loss, long ReceivedBitrate, long Start);
