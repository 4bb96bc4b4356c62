using System.Net;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Sdp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// The relay's end of one peer connection as a client reads it from the relay's SDP: ICE credentials, the DTLS
/// fingerprint and role, and its host candidates (UDP and passive ICE-TCP). Enough to make the
/// <see cref="WebRtcClientTransport"/> that connects to it.
/// </summary>
internal sealed record RelayTransportParameters(
    string IceUfrag,
    string IcePassword,
    DtlsFingerprint Fingerprint,
    string Setup,
    bool IceLite,
    IReadOnlyList<SdpCandidate> Candidates)
{
    /// <summary>
    /// The relay candidate to reach over <paramref name="protocol"/>: the highest-priority UDP host candidate, or the
    /// highest-priority TCP candidate of tcptype passive (RFC 6544 §4.5: only a passive candidate accepts our connect).
    /// </summary>
    public bool TryGetEndpoint(IceTransportProtocol protocol, out IPEndPoint? endpoint)
    {
        endpoint = null;
        SdpCandidate? best = null;
        foreach (var candidate in Candidates)
        {
            var usable = protocol == IceTransportProtocol.Udp
                ? candidate.IsUdp
                : candidate.IsTcp && string.Equals(candidate.TcpType, "passive", StringComparison.OrdinalIgnoreCase);
            if (usable && candidate.Component == 1 && (best is null || candidate.Priority > best.Priority)
                && IPAddress.TryParse(candidate.Address, out _))
            {
                best = candidate;
            }
        }

        if (best is null)
        {
            return false;
        }

        endpoint = new IPEndPoint(IPAddress.Parse(best.Address), best.Port);
        return true;
    }

    /// <summary>
    /// A client transport toward this relay: ICE controlling (the relay is lite), DTLS client (we answer the relay's
    /// actpass/passive with active, RFC 5763 §5). Not yet connected.
    /// </summary>
    public WebRtcClientTransport CreateTransport(
        IceCredentials localIce,
        DtlsCertificate certificate,
        IceTransportProtocol protocol,
        DtlsOptions? dtlsOptions = null,
        TimeProvider? time = null)
    {
        if (!TryGetEndpoint(protocol, out var endpoint))
        {
            throw new InvalidOperationException($"The relay offered no {protocol} candidate.");
        }

        return new WebRtcClientTransport(localIce, certificate, IceUfrag, IcePassword, Fingerprint, endpoint!, protocol, dtlsOptions, time);
    }

    /// <summary>Reads the relay's transport attributes (m-line level first, then session level, as <see cref="RemoteTransportParameters"/>).</summary>
    public static bool TryRead(SessionDescription description, out RelayTransportParameters? relay, out string? error)
    {
        relay = null;
        if (!RemoteTransportParameters.TryRead(description, out var remote, out error))
        {
            return false;
        }

        if (!DtlsFingerprint.TryParse(remote!.Fingerprint.ToString(), out var fingerprint))
        {
            error = $"a=fingerprint:{remote.Fingerprint} is not a fingerprint we can check.";
            return false;
        }

        // RFC 8843 §7.1.3 (BUNDLE): the candidates of the bundle transport are those of the first live m-line.
        var first = description.Media.FirstOrDefault(m => m.Port != 0);
        var candidates = first?.Candidates ?? [];
        if (candidates.Count == 0)
        {
            candidates = description.Attributes.ParseAll<SdpCandidate>("candidate", SdpCandidate.TryParse);
        }

        relay = new RelayTransportParameters(remote.IceUfrag, remote.IcePassword, fingerprint!, remote.Setup, description.IceLite, candidates);
        return true;
    }
}
