using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The connection test behind <c>/check</c>: one peer connection whose audio and video the relay sends
/// straight back, rewritten like any forwarded track, so the browser sees the whole path (ICE, DTLS, SRTP,
/// forwarding) work. Closed after its time limit by the relay service.
/// </summary>
public sealed class ConnectionTest : IDisposable
{
    private readonly TransportRouting _routing;
    private readonly List<Producer> _producers = [];
    private readonly List<Consumer> _consumers = [];

    private ConnectionTest(string id, TransportRouting routing, string answer, DateTimeOffset expiresAt)
    {
        Id = id;
        _routing = routing;
        Answer = answer;
        ExpiresAt = expiresAt;
    }

    public string Id { get; }

    /// <summary>The relay's SDP answer for the browser.</summary>
    public string Answer { get; }

    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The caller's address range, counted against the per-address cap while the test runs.</summary>
    internal AddressRange? ClientRange { get; set; }

    public bool IsConnected => _routing.Transport.State == Transport.WebRtcTransportState.Connected;

    public bool IsClosed => _routing.Transport.State == Transport.WebRtcTransportState.Closed;

    /// <summary>RTP packets received from the browser.</summary>
    public long PacketsReceived => _routing.RtpPacketsReceived;

    /// <summary>RTP packets sent back to the browser.</summary>
    public long PacketsReturned => _consumers.Sum(c => c.PacketsSent);

    /// <summary>The relay's side of the test, or null with the refusal (an invalid offer, or a cap).</summary>
    internal static ConnectionTest? Create(RelayContext context, string id, string offerSdp, TimeSpan lifetime, out NegotiationResult? failure)
    {
        failure = context.Limits.CheckOffer(offerSdp);
        if (failure is not null)
        {
            return null;
        }

        if (!SessionDescription.TryParse(offerSdp, out var offer))
        {
            failure = NegotiationResult.Fail("The offer is not valid SDP.");
            return null;
        }

        failure = context.Limits.CheckSimulcast(offer!);
        if (failure is not null)
        {
            return null;
        }

        var routing = context.TryCreateTransport(out failure);
        if (routing is null)
        {
            return null;
        }

        var transport = routing.Transport;
        if (!PublishAnswer.TryCreate(offer!, context.LocalParameters(transport), echo: true, out var negotiation, out var error)
            || !DtlsFingerprint.TryParse(negotiation!.Remote.Fingerprint.ToString(), out var fingerprint))
        {
            failure = NegotiationResult.Fail(error ?? "The offer's fingerprint is not valid.");
            transport.Dispose();
            return null;
        }

        transport.SetRemote(negotiation.Remote.IceUfrag, fingerprint!);
        var test = new ConnectionTest(id, routing, negotiation.Answer.ToString(), context.Time.GetUtcNow() + lifetime);
        foreach (var parameters in negotiation.Producers)
        {
            var producer = new Producer(id + ":" + parameters.Mid, parameters, transport, MediaGate.AlwaysOpen, context.RetransmissionBlocks, context.Clock);
            routing.AddProducer(producer);
            test._producers.Add(producer);
            var echo = negotiation.EchoConsumers.FirstOrDefault(c => c.Mid == parameters.Mid);
            if (echo is not null)
            {
                var consumer = new Consumer(id + ":echo:" + parameters.Mid, echo, producer, routing, MediaGate.AlwaysOpen, context.Clock);
                routing.AddConsumer(consumer);
                producer.AddConsumer(consumer);
                test._consumers.Add(consumer);
            }
        }

        return test;
    }

    public void Dispose()
    {
        foreach (var producer in _producers)
        {
            producer.Close();
        }

        _routing.Transport.Dispose();
    }
}
