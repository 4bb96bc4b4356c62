using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>What routers need from the relay to make transports: the shared sockets, our certificate, candidates and clock.</summary>
internal sealed class RelayContext
{
    private int _nextTransportId;

    public RelayContext(MediaSockets sockets, DtlsCertificate certificate, IReadOnlyList<string> announcedAddresses, TimeProvider time, MediaOptions? options = null)
    {
        Sockets = sockets;
        Certificate = certificate;
        AnnouncedAddresses = announcedAddresses;
        Time = time;
        Clock = new RoutingClock(time);
        options ??= new MediaOptions();
        Limits = new RelayLimits(options);
        HandshakeSlots = new DtlsHandshakeSlots(options.MaxPendingDtlsHandshakes);
    }

    public MediaSockets Sockets { get; }

    public DtlsCertificate Certificate { get; }

    public IReadOnlyList<string> AnnouncedAddresses { get; }

    public TimeProvider Time { get; }

    /// <summary>Routing's reading of <see cref="Time"/>, shared by every router and transport of the relay.</summary>
    public RoutingClock Clock { get; }

    /// <summary>The caps of <see cref="MediaOptions"/> on what callers can make the relay hold.</summary>
    public RelayLimits Limits { get; }

    /// <summary>DTLS handshakes in progress, shared by every transport (<see cref="MediaOptions.MaxPendingDtlsHandshakes"/>).</summary>
    public DtlsHandshakeSlots HandshakeSlots { get; }

    /// <summary>The packet storage of every producer's retransmission buffers, reused as streams come and go.</summary>
    public RetransmissionBlocks RetransmissionBlocks { get; } = new();

    /// <summary>Every live transport, for the consent check and Sender Reports.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, TransportRouting> Transports { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A new transport, or a refusal (counted) when <see cref="MediaOptions.MaxTransports"/> exist. The count is read
    /// without a lock, so concurrent callers may pass it by a few; it bounds a flood, not the last transport.
    /// </summary>
    public TransportRouting? TryCreateTransport(out NegotiationResult? refusal)
    {
        if (Transports.Count >= Limits.MaxTransports)
        {
            refusal = NegotiationResult.Refused(MediaLimits.Transports, "The media server is at its limit of connections; please try again in a few minutes.");
            return null;
        }

        refusal = null;
        var id = "t" + Interlocked.Increment(ref _nextTransportId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var transport = new WebRtcTransport(id, Sockets.Directory, Certificate, Time, handshakeSlots: HandshakeSlots);
        var routing = new TransportRouting(transport, Clock);
        Transports[id] = routing;
        routing.Closed += r => Transports.TryRemove(r.Transport.Id, out _);
        return routing;
    }

    public LocalTransportParameters LocalParameters(WebRtcTransport transport)
    {
        var fingerprint = new Sdp.SdpFingerprint(transport.LocalFingerprint.Algorithm, transport.LocalFingerprint.ToHex());
        return new LocalTransportParameters(
            transport.LocalIce,
            fingerprint,
            LocalTransportParameters.HostCandidates(AnnouncedAddresses, Sockets.UdpPort, Sockets.TcpPort));
    }
}
