using System.Globalization;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>What our side of one peer transport puts in SDP: ICE credentials, DTLS fingerprint and host candidates.</summary>
internal sealed record LocalTransportParameters(
    IceCredentials Ice,
    SdpFingerprint Fingerprint,
    IReadOnlyList<SdpCandidate> Candidates)
{
    /// <summary>
    /// Host candidates for every announced address: UDP first, then passive ICE-TCP with a lower local
    /// preference so browsers use TCP only when UDP fails (<see cref="IceCandidatePriority.Host"/>).
    /// </summary>
    public static IReadOnlyList<SdpCandidate> HostCandidates(IReadOnlyList<string> addresses, int udpPort, int tcpPort)
    {
        var list = new List<SdpCandidate>();
        for (var i = 0; i < addresses.Count; i++)
        {
            list.Add(new SdpCandidate(
                Foundation: (1 + (2 * i)).ToString(CultureInfo.InvariantCulture),
                Component: 1,
                Transport: "udp",
                Priority: IceCandidatePriority.Host(tcp: false, i),
                Address: addresses[i],
                Port: udpPort,
                Type: "host"));
            if (tcpPort > 0)
            {
                list.Add(new SdpCandidate(
                    Foundation: (2 + (2 * i)).ToString(CultureInfo.InvariantCulture),
                    Component: 1,
                    Transport: "tcp",
                    Priority: IceCandidatePriority.Host(tcp: true, i),
                    Address: addresses[i],
                    Port: tcpPort,
                    Type: "host",
                    TcpType: "passive"));
            }
        }

        return list;
    }
}
