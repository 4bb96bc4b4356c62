namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// One packet reported in transport-wide feedback. For a received packet, <see cref="DeltaMicroseconds"/> is the
/// receive delta from the previous received packet (or from the reference time for the first one) and
/// <see cref="ArrivalMicroseconds"/> the arrival time on the receiver's clock (reference time plus deltas).
/// </summary>
internal readonly record struct TransportWidePacketStatus(ushort SequenceNumber, bool Received, int DeltaMicroseconds, long ArrivalMicroseconds);
