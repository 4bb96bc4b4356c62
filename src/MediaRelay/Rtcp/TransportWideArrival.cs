namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>A received packet for building transport-wide feedback: its transport sequence and arrival time.</summary>
internal readonly record struct TransportWideArrival(ushort SequenceNumber, long ArrivalMicroseconds);
