using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>Media negotiation through the hub, at the SDP level (packets are the relay's and the end-to-end tests' business).</summary>
public sealed class MediaNegotiationTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 20_000;

    [Fact(Timeout = Bound)]
    public async Task A_waiting_participant_publishes_and_gets_an_ice_lite_answer_and_a_subscribe_offer()
    {
        var s = await ScenarioAsync();
        var (patient, _) = await s.JoinContactAsync(s.PatientToken);

        var answer = await patient.PublishAsync(Sdp.ChromeOffer);
        Assert.StartsWith("v=0", answer, StringComparison.Ordinal);
        Assert.Contains("a=ice-lite", answer, StringComparison.Ordinal);
        Assert.Contains("a=setup:passive", answer, StringComparison.Ordinal);
        Assert.Contains("a=fingerprint:sha-256 ", answer, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", answer, StringComparison.Ordinal); // the announced address in the candidates
        Assert.Contains("m=audio", answer, StringComparison.Ordinal);
        Assert.Contains("m=video", answer, StringComparison.Ordinal);

        var offer = await patient.RequestSubscribeOfferAsync();
        Assert.StartsWith("v=0", offer, StringComparison.Ordinal);
        Assert.Contains("a=ice-lite", offer, StringComparison.Ordinal);
        Assert.DoesNotContain("m=audio", offer, StringComparison.Ordinal); // nobody else publishes yet

        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync("this is not sdp"));
        await Assert.ThrowsAsync<HubException>(() => patient.CallAsync("SubscribeAnswer", "this is not sdp either"));
    }

    [Fact(Timeout = Bound)]
    public async Task A_waiting_participant_may_offer_only_a_few_times_until_admitted()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        for (var i = 0; i < SessionInputs.OffersWhileWaiting; i++)
        {
            Assert.StartsWith("v=0", await patient.PublishAsync(Sdp.ChromeOffer), StringComparison.Ordinal);
        }

        var refused = await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        Assert.Contains("too-many-offers", refused.Message, StringComparison.Ordinal);

        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        Assert.StartsWith("v=0", await patient.PublishAsync(Sdp.ChromeOffer), StringComparison.Ordinal);
    }

    [Fact(Timeout = Bound)]
    public async Task Connection_test_reports_out_of_shape_are_refused_and_never_shown()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, _) = await s.JoinContactAsync(s.PatientToken);

        foreach (var bad in new[]
        {
            new ConnectionCheckSummary("<img src=x onerror=alert(1)>", true, true, 20, 0, 900),
            new ConnectionCheckSummary(new string('g', 10_000), true, true, 20, 0, 900),
            new ConnectionCheckSummary("good", true, true, -1, 0, 900),
            new ConnectionCheckSummary("good", true, true, 20, 150, 900),
            new ConnectionCheckSummary("good", true, true, 20, 0, int.MaxValue),
        })
        {
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => patient.ReportConnectionCheckAsync(bad));
            Assert.Contains("invalid-connection-check", refused.Message, StringComparison.Ordinal);
        }

        var mark = ada.Mark;
        await patient.ReportConnectionCheckAsync(new ConnectionCheckSummary("fair", true, false, 120, 2.5, 400));
        var shown = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1 && w.Waiting[0].ConnectionCheck is not null, mark);
        Assert.Equal("fair", shown.Waiting[0].ConnectionCheck!.Verdict);
    }

    [Fact(Timeout = Bound)]
    public async Task A_peer_publishing_later_sends_a_subscribe_offer_to_the_others()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);
        await patient.RequestSubscribeOfferAsync();
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));

        var mark = patient.Mark;
        await ada.PublishAsync(Sdp.ChromeOffer);
        var offer = await patient.WaitAsync<string>(HubClient.SubscribeOffer, after: mark);
        Assert.Contains("a=ice-lite", offer, StringComparison.Ordinal);
        Assert.Contains("m=audio", offer, StringComparison.Ordinal);
        Assert.Contains("m=video", offer, StringComparison.Ordinal);

        // The therapist asks for theirs and sees the patient's tracks.
        var adaOffer = await ada.RequestSubscribeOfferAsync();
        Assert.Contains("m=audio", adaOffer, StringComparison.Ordinal);
        Assert.Contains("m=video", adaOffer, StringComparison.Ordinal);
    }

    [Fact(Timeout = Bound)]
    public async Task A_new_subscribe_connection_replaces_the_one_the_relay_held_and_a_plain_request_keeps_it()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        await ada.PublishAsync(Sdp.ChromeOffer);
        await patient.PublishAsync(Sdp.ChromeOffer);
        var relay = Server.Services.GetRequiredService<MediaRelayService>();

        // RequestSubscribeOffer offers on the connection the relay holds: the same ICE ufrag each time.
        var first = IceUfrag(await patient.RequestSubscribeOfferAsync());
        Assert.Equal(first, IceUfrag(await patient.RequestSubscribeOfferAsync()));
        Assert.True(relay.HasConnection(first));

        // The page's receive connection failed: it asks for a new one. The relay closes the old connection and offers
        // the therapist's tracks on a new one, numbered from the first m-line again.
        var renewed = await patient.RequestNewSubscribeConnectionAsync();
        var second = IceUfrag(renewed);
        Assert.NotEqual(first, second);
        Assert.False(relay.HasConnection(first));
        Assert.True(relay.HasConnection(second));
        Assert.Contains("a=mid:0", renewed, StringComparison.Ordinal);
        Assert.Contains("m=audio", renewed, StringComparison.Ordinal);
        Assert.Contains("m=video", renewed, StringComparison.Ordinal);

        // And the plain request then offers on that new connection.
        Assert.Equal(second, IceUfrag(await patient.RequestSubscribeOfferAsync()));
    }

    [Fact(Timeout = Bound)]
    public async Task A_waiting_participant_may_ask_for_new_subscribe_connections_only_a_few_times()
    {
        var s = await ScenarioAsync();
        var (patient, _) = await s.JoinContactAsync(s.PatientToken);
        for (var i = 0; i < SessionInputs.OffersWhileWaiting; i++)
        {
            Assert.StartsWith("v=0", await patient.RequestNewSubscribeConnectionAsync(), StringComparison.Ordinal);
        }

        var refused = await Assert.ThrowsAsync<HubException>(() => patient.RequestNewSubscribeConnectionAsync());
        Assert.Contains("too-many-offers", refused.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = Bound)]
    public async Task An_admitted_participant_tells_the_relay_how_large_they_show_a_video_and_nothing_else_is_taken()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        await ada.PublishAsync(Sdp.ChromeOffer);
        await patient.PublishAsync(Sdp.ChromeOffer);
        await patient.RequestSubscribeOfferAsync();
        await caregiver.PublishAsync(Sdp.ChromeOffer);
        Assert.Contains("m=video", await caregiver.RequestSubscribeOfferAsync(), StringComparison.Ordinal);
        var therapistStream = ada.ParticipantId!;

        Assert.True(await patient.SetVideoSizeAsync(therapistStream, 640, 360));
        Assert.Equal((640, 360), Peer(s, p.ParticipantId!)!.GetViewSize(therapistStream));
        Assert.True(await patient.SetVideoSizeAsync(therapistStream, 0, 0)); // the tile is out of sight
        Assert.Equal((0, 0), Peer(s, p.ParticipantId!)!.GetViewSize(therapistStream));

        // Out of range, a stream the patient does not receive, or no stream: false, and the size stays.
        foreach (var (stream, width, height) in new (string?, int, int)[]
        {
            (therapistStream, -1, 240), (therapistStream, 320, -1), (therapistStream, 0, 240), (therapistStream, int.MaxValue, int.MaxValue),
            (therapistStream, 16385, 240), (p.ParticipantId!, 320, 240), ("nobody", 320, 240), (null, 320, 240), (new string('a', 10_000), 320, 240),
        })
        {
            Assert.False(await patient.SetVideoSizeAsync(stream, width, height), $"{stream?.Length} {width}×{height}");
        }

        Assert.Equal((0, 0), Peer(s, p.ParticipantId!)!.GetViewSize(therapistStream));

        // A new receive connection keeps the sizes the page gave (it does not send them again).
        await patient.RequestNewSubscribeConnectionAsync();
        Assert.Equal((0, 0), Peer(s, p.ParticipantId!)!.GetViewSize(therapistStream));

        // The caregiver still waits: receives the therapist's tracks already, but may not set their size.
        Assert.False(await caregiver.SetVideoSizeAsync(therapistStream, 320, 240));
        Assert.Null(Peer(s, c.ParticipantId!)!.GetViewSize(therapistStream));
    }

    private static string IceUfrag(string sdp) =>
        sdp.ReplaceLineEndings("\n").Split('\n').First(l => l.StartsWith("a=ice-ufrag:", StringComparison.Ordinal))["a=ice-ufrag:".Length..];
}
