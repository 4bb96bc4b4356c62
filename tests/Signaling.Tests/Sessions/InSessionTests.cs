using System.Text;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// What people in a session tell each other besides media: the chat (who may send, in what order it arrives, its
/// limits, and that it is kept nowhere), the microphone / camera marks, and who may share a screen.
/// </summary>
public sealed class InSessionTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 30_000;

    [Fact(Timeout = Bound)]
    public async Task Chat_reaches_everyone_in_the_session_in_one_order_and_nobody_waiting()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var ben = await s.JoinTherapistAsync(s.Ben);
        var (patient, patientJoin) = await s.JoinContactAsync(s.PatientToken);
        var (caregiver, _) = await s.JoinContactAsync(s.CaregiverToken);
        Assert.True(await ada.AdmitAsync(patientJoin.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);

        // The caregiver still waits: may neither send nor read.
        var refused = await Assert.ThrowsAsync<HubException>(() => caregiver.SendChatMessageAsync("Can I come in?"));
        Assert.Contains("not-in-session", refused.Message, StringComparison.Ordinal);

        var marker = $"chat-{Guid.NewGuid():N}";
        var sent = new (HubClient From, string Text)[] { (ada, $"Hello everyone {marker}"), (patient, "Hi!"), (ben, "Good morning"), (patient, "Line one\r\nline two") };
        foreach (var (from, text) in sent)
        {
            Assert.True(await from.SendChatMessageAsync(text));
        }

        foreach (var reader in new[] { ada, ben, patient })
        {
            await reader.WaitAsync<ChatMessage>(HubClient.ChatMessage, m => m.Text == "Line one\nline two");
            var got = reader.All<ChatMessage>(HubClient.ChatMessage);
            Assert.Equal([1L, 2, 3, 4], got.Select(m => m.Sequence));
            Assert.Equal([$"Hello everyone {marker}", "Hi!", "Good morning", "Line one\nline two"], got.Select(m => m.Text));
            Assert.Equal([s.Ada.Name, "Mia Keller", s.Ben.Name, "Mia Keller"], got.Select(m => m.FromName));
            Assert.Equal([ParticipantRoles.Therapist, ParticipantRoles.Patient, ParticipantRoles.Therapist, ParticipantRoles.Patient], got.Select(m => m.FromRole));
            Assert.Equal(patientJoin.ParticipantId, got[1].FromParticipantId);
        }

        // Everyone in the session has all four by now; the waiting caregiver's connection got none of them.
        Assert.Empty(caregiver.All<ChatMessage>(HubClient.ChatMessage));

        // Admitted later, the caregiver chats too, and sees only what comes after (nothing is kept to replay).
        Assert.True(await ada.AdmitAsync(SessionScenario.ParticipantIdOf(s.CaregiverContactId)));
        await caregiver.WaitForStateAsync(ParticipantStates.Admitted);
        Assert.True(await caregiver.SendChatMessageAsync("Thanks for letting me in"));
        var late = await caregiver.WaitAsync<ChatMessage>(HubClient.ChatMessage);
        Assert.Equal(5, late.Sequence);
        Assert.Single(caregiver.All<ChatMessage>(HubClient.ChatMessage));

        // Nothing of it is stored: not in the audit trail, not anywhere in the server's data folder (database included).
        Assert.DoesNotContain(marker, (await Server.AuditAsync(s.AppointmentId)).ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(FilesContaining(Server.DataPath, marker));

        // Once the session has ended nobody chats any more.
        Assert.True(await ada.EndSessionAsync());
        await Assert.ThrowsAsync<HubException>(() => patient.SendChatMessageAsync("Still there?"));
    }

    [Fact(Timeout = Bound)]
    public async Task A_message_must_have_text_and_at_most_a_thousand_characters()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);

        Assert.Contains("chat-empty", (await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync(" \r\n\t "))).Message, StringComparison.Ordinal);
        Assert.Contains("chat-empty", (await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync("\u0007\u0000"))).Message, StringComparison.Ordinal);
        Assert.Contains("chat-empty", (await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync(null!))).Message, StringComparison.Ordinal);
        Assert.Contains("chat-too-long", (await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync(new string('x', SessionChat.MaxLength + 1)))).Message, StringComparison.Ordinal);
        Assert.Empty(ada.All<ChatMessage>(HubClient.ChatMessage));

        // Control characters other than line breaks and tabs are dropped; exactly the limit goes through.
        Assert.True(await ada.SendChatMessageAsync("bell\u0007 and\tescape\u001b[31m"));
        Assert.Equal("bell and\tescape[31m", (await ada.WaitAsync<ChatMessage>(HubClient.ChatMessage)).Text);
        var longest = new string('y', SessionChat.MaxLength);
        Assert.True(await ada.SendChatMessageAsync(longest));
        await ada.WaitAsync<ChatMessage>(HubClient.ChatMessage, m => m.Text == longest);
    }

    [Fact(Timeout = Bound)]
    public async Task A_sender_gets_a_burst_of_five_then_one_message_every_two_seconds()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var ben = await s.JoinTherapistAsync(s.Ben);

        for (var i = 1; i <= SessionChat.Burst; i++)
        {
            Assert.True(await ada.SendChatMessageAsync($"message {i}"));
        }

        var tooFast = await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync("one more"));
        Assert.Contains("chat-too-fast", tooFast.Message, StringComparison.Ordinal);

        // Another sender has a budget of their own.
        Assert.True(await ben.SendChatMessageAsync("I can still talk"));

        Server.Time.Advance(SessionChat.RefillEvery);
        Assert.True(await ada.SendChatMessageAsync("after two seconds"));
        await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync("and again at once"));

        Server.Time.Advance(SessionChat.RefillEvery * 10);
        for (var i = 1; i <= SessionChat.Burst; i++)
        {
            Assert.True(await ada.SendChatMessageAsync($"refilled {i}"));
        }

        await Assert.ThrowsAsync<HubException>(() => ada.SendChatMessageAsync("no more than the burst"));
        await ben.WaitAsync<ChatMessage>(HubClient.ChatMessage, m => m.Text == $"refilled {SessionChat.Burst}");
        Assert.Equal(SessionChat.Burst + 1 + 1 + SessionChat.Burst, ben.All<ChatMessage>(HubClient.ChatMessage).Count);
    }

    [Fact(Timeout = Bound)]
    public async Task Microphone_and_camera_marks_reach_the_session_and_a_waiting_persons_with_their_admission()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, patientJoin) = await s.JoinContactAsync(s.PatientToken);
        var patientId = patientJoin.ParticipantId!;

        // Said while waiting: the session does not hear of it yet.
        await patient.SetMediaStateAsync(microphoneOff: true, cameraOff: false);
        var mark = ada.Mark;
        Assert.True(await ada.AdmitAsync(patientId));
        var joined = await ada.WaitAsync<PeerInfo>(HubClient.PeerJoined, p => p.ParticipantId == patientId, mark);
        Assert.True(joined.MicrophoneOff);
        Assert.False(joined.CameraOff);
        Assert.Empty(ada.All<PeerInfo>(HubClient.PeerMediaChanged));

        // In the session, a change reaches the others at once.
        mark = ada.Mark;
        await patient.SetMediaStateAsync(microphoneOff: false, cameraOff: true);
        var changed = await ada.WaitAsync<PeerInfo>(HubClient.PeerMediaChanged, p => p.ParticipantId == patientId, mark);
        Assert.False(changed.MicrophoneOff);
        Assert.True(changed.CameraOff);
        Assert.DoesNotContain(patient.All<PeerInfo>(HubClient.PeerMediaChanged), p => p.ParticipantId == patientId && p.MicrophoneOff);
    }

    [Fact(Timeout = Bound)]
    public async Task Only_a_therapist_or_a_contact_a_therapist_allowed_sends_a_second_video_track()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, patientJoin) = await s.JoinContactAsync(s.PatientToken);
        var (caregiver, caregiverJoin) = await s.JoinContactAsync(s.CaregiverToken);
        var patientId = patientJoin.ParticipantId!;
        Assert.True(await ada.AdmitAsync(patientId));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);

        // A therapist may share; a patient may not until allowed (the relay refuses the offer), and sends a camera as ever.
        Assert.Equal(3, AcceptedMLines(await ada.PublishAsync(Sdp.ChromeOfferWithScreen)));
        var refused = await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOfferWithScreen));
        Assert.Contains("screen-share-not-allowed", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, AcceptedMLines(await patient.PublishAsync(Sdp.ChromeOffer)));

        // Nobody but a listed therapist allows it, and only for a contact in the session.
        await Assert.ThrowsAsync<HubException>(() => patient.CallAsync<bool>("AllowScreenShare", patientId, true));
        Assert.False(await ada.CallAsync<bool>("AllowScreenShare", caregiverJoin.ParticipantId!, true)); // still waiting
        Assert.False(await ada.CallAsync<bool>("AllowScreenShare", s.Ada.ParticipantId, true));
        Assert.False(await ada.CallAsync<bool>("AllowScreenShare", "contact-nobody", true));
        Assert.Empty(caregiver.All<PeerInfo>(HubClient.PeerMediaChanged));

        // Allowed: the patient's page hears it, and the same offer now goes through.
        var mark = patient.Mark;
        Assert.True(await ada.CallAsync<bool>("AllowScreenShare", patientId, true));
        Assert.True((await patient.WaitAsync<PeerInfo>(HubClient.PeerMediaChanged, p => p.ParticipantId == patientId, mark)).MayShareScreen);
        Assert.Equal(3, AcceptedMLines(await patient.PublishAsync(Sdp.ChromeOfferWithScreen)));
        Assert.Equal(2, Peer(s, patientId)!.MaxVideoTracks);

        // Taken back: the relay stops the share at once and refuses it again.
        mark = patient.Mark;
        Assert.True(await ada.CallAsync<bool>("AllowScreenShare", patientId, false));
        Assert.False((await patient.WaitAsync<PeerInfo>(HubClient.PeerMediaChanged, p => p.ParticipantId == patientId, mark)).MayShareScreen);
        Assert.Equal(1, Peer(s, patientId)!.MaxVideoTracks);
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOfferWithScreen));

        // Sent back to the waiting room, the right goes with the seat in the session.
        Assert.True(await ada.CallAsync<bool>("AllowScreenShare", patientId, true));
        Assert.True(await ada.SendToWaitingRoomAsync(patientId));
        Assert.True(await ada.AdmitAsync(patientId));
        var again = await ada.WaitForSnapshotAsync(w => w.InSession.Any(p => p.ParticipantId == patientId));
        Assert.False(again.InSession.Single(p => p.ParticipantId == patientId).MayShareScreen);
        Assert.Equal(1, Peer(s, patientId)!.MaxVideoTracks);
    }

    private static int AcceptedMLines(string answer) =>
        answer.Split('\n').Count(l => l.StartsWith("m=", StringComparison.Ordinal) && !l.StartsWith("m=video 0 ", StringComparison.Ordinal) && !l.StartsWith("m=audio 0 ", StringComparison.Ordinal));

    private static List<string> FilesContaining(string folder, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(file =>
            {
                try
                {
                    using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    using var memory = new MemoryStream();
                    stream.CopyTo(memory);
                    return memory.ToArray().AsSpan().IndexOf(bytes) >= 0;
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .ToList();
    }
}
