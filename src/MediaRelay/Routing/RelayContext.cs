using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>What routers need from the relay to make transports: the shared sockets, our certificate, candidates and clock.</summary>
internal sealed class RelayContext
{
    private int _nextTransportId;

    public RelayContext(MediaSockets sockets, DtlsCertificate certificate, IReadOnlyList<string> announcedAddresses, TimeProvider time)
    {
        Sockets = sockets;
        Certificate = certificate;
        AnnouncedAddresses = announcedAddresses;
        Time = time;
    }

    public MediaSockets Sockets { get; }

    public DtlsCertificate Certificate { get; }

    public IReadOnlyList<string> AnnouncedAddresses { get; }

    public TimeProvider Time { get; }

    /// <summary>Every live transport, for the consent check and Sender Reports.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, TransportRouting> Transports { get; } = new(StringComparer.Ordinal);

    public TransportRouting CreateTransport()
    {
        var id = "t" + Interlocked.Increment(ref _nextTransportId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var transport = new WebRtcTransport(id, Sockets.Directory, Certificate, Time);
        var routing = new TransportRouting(transport);
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
