using System.Net;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>The cap on DTLS handshakes in progress (each holds a thread): ClientHellos beyond it wait for the browser's retransmission.</summary>
public sealed class DtlsHandshakeLimitTests
{
    [Fact(Timeout = 30000)]
    public async Task A_client_hello_beyond_the_cap_is_dropped_and_counted_and_a_retransmission_gets_through_once_a_slot_frees()
    {
        var slots = new DtlsHandshakeSlots(1);
        Assert.True(slots.TryTake()); // another transport's handshake holds the only slot
        var hits = RelayMetrics.LimitDtlsHandshakes.Value;
        var completed = RelayMetrics.DtlsHandshakes.WithLabels("ok").Value;
        var sockets = await LoopbackSession.StartSocketsAsync();
        var connecting = LoopbackSession.ConnectAsync(IceTransportProtocol.Udp, sockets, handshakeSlots: slots);

        await LoopbackSession.WaitUntilAsync(() => RelayMetrics.LimitDtlsHandshakes.Value > hits, LoopbackSession.StepTimeout, "a dropped ClientHello");
        await Task.Delay(200);
        Assert.False(connecting.IsCompleted, "no handshake without a slot");
        Assert.Equal(1, slots.InUse);

        // RFC 6347 §4.2.4: the client sends its ClientHello again after a second; now there is room.
        slots.Return();
        using var session = await connecting;
        Assert.Equal(WebRtcTransportState.Connected, session.Server.State);
        Assert.Equal(0, slots.InUse); // given back when the handshake ended
        Assert.True(RelayMetrics.DtlsHandshakes.WithLabels("ok").Value >= completed + 1);
    }

    [Fact(Timeout = 30000)]
    public async Task A_failed_handshake_gives_its_slot_back()
    {
        var slots = new DtlsHandshakeSlots(1);
        var failed = RelayMetrics.DtlsHandshakes.WithLabels("failed").Value;
        using MediaSockets sockets = await LoopbackSession.StartSocketsAsync();
        var clientCertificate = DtlsCertificate.Generate();
        using var server = new WebRtcTransport("wrong-cert", sockets.Directory, DtlsCertificate.Generate(), TimeProvider.System, handshakeSlots: slots);
        var clientIce = IceCredentials.Create();

        // The server expects another certificate than the client's: it gets as far as the client's Certificate, then fails.
        server.SetRemote(clientIce.Ufrag, DtlsCertificate.Generate().Fingerprint);
        using var client = new WebRtcClientTransport(
            clientIce, clientCertificate, server.LocalIce.Ufrag, server.LocalIce.Password, server.LocalFingerprint,
            new IPEndPoint(IPAddress.Loopback, sockets.UdpPort), IceTransportProtocol.Udp);

        await Assert.ThrowsAsync<IOException>(() => client.ConnectAsync().WaitAsync(LoopbackSession.StepTimeout));
        await LoopbackSession.WaitUntilAsync(() => slots.InUse == 0, LoopbackSession.StepTimeout, "the slot given back");
        await LoopbackSession.WaitUntilAsync(() => RelayMetrics.DtlsHandshakes.WithLabels("failed").Value > failed, LoopbackSession.StepTimeout, "the failed handshake counted");
    }
}
