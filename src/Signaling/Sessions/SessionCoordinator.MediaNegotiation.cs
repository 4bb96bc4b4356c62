using Microsoft.AspNetCore.SignalR;
using Teletherapy.MediaRelay;

namespace Teletherapy.Signaling.Sessions;

// Media negotiation: the SDP exchanges of a participant's tab with the relay (publish, and subscribe both ways, on the
// receive connection the relay holds or on a new one), and how large the tab shows the videos it receives. The tab that
// negotiates is the one the relay's later subscribe offers go to (SessionRoom.ClaimMedia).
internal sealed partial class SessionCoordinator
{
    /// <summary>The browser's publish offer → the relay's answer. Allowed while waiting, so admission is instant.</summary>
    public Task<string> PublishAsync(string connectionId, string offerSdp) => Task.FromResult(Publish(connectionId, offerSdp));

    public Task<string> CreateSubscribeOfferAsync(string connectionId) => Task.FromResult(CreateSubscribeOffer(connectionId));

    public Task<string> CreateSubscribeOfferOnNewConnectionAsync(string connectionId) => Task.FromResult(CreateSubscribeOfferOnNewConnection(connectionId));

    public Task ApplySubscribeAnswerAsync(string connectionId, string answerSdp)
    {
        ApplySubscribeAnswer(connectionId, answerSdp);
        return Task.CompletedTask;
    }

    private string Publish(string connectionId, string offerSdp)
    {
        var (room, participant) = Locate(connectionId);
        if (participant.State != ParticipantStates.Admitted)
        {
            SessionInputs.CheckOffersWhileWaiting(room.CountOfferWhileWaiting(participant.Id));
        }

        var peer = _media.NegotiatingPeer(room, connectionId);
        // A second video track is a shared screen: therapists always, a contact only while allowed (the relay refuses more).
        peer.LimitVideoTracks(SessionMedia.VideoTracksFor(participant));
        var result = peer.Publish(offerSdp ?? string.Empty);
        if (result.Limit == MediaLimits.VideoTracks)
        {
            throw new HubException("screen-share-not-allowed: Only a therapist, or someone a therapist allowed, can share a screen.");
        }

        return result.Succeeded ? result.Sdp! : throw new HubException(result.Error);
    }

    /// <summary>
    /// A subscribe offer for the tracks this participant may receive (gated until admitted), on the receive connection
    /// the relay holds for it, or on a new one when the relay closed the last (the offer's ICE ufrag tells which).
    /// </summary>
    private string CreateSubscribeOffer(string connectionId)
    {
        var (room, _) = Locate(connectionId);
        var result = _media.NegotiatingPeer(room, connectionId).CreateSubscribeOffer();
        return result.Succeeded ? result.Sdp! : throw new HubException(result.Error);
    }

    /// <summary>
    /// A subscribe offer on a new receive connection (a new ICE ufrag), the one the relay held for this participant
    /// closed with its consumers: the page's connection failed while the relay still held it, and the page answers on a
    /// new <c>RTCPeerConnection</c> at once instead of waiting for the relay's consent timeout.
    /// </summary>
    private string CreateSubscribeOfferOnNewConnection(string connectionId)
    {
        var (room, participant) = Locate(connectionId);
        if (participant.State != ParticipantStates.Admitted)
        {
            // A new connection costs the relay as a publish offer does: bounded alike until admitted.
            SessionInputs.CheckOffersWhileWaiting(room.CountOfferWhileWaiting(participant.Id));
        }

        var result = _media.NegotiatingPeer(room, connectionId).CreateSubscribeOfferOnNewConnection();
        return result.Succeeded ? result.Sdp! : throw new HubException(result.Error);
    }

    /// <summary>The longest stream id a page may name: a participant id, <c>~</c> and a mid.</summary>
    private const int MaxStreamIdLength = 128;

    /// <summary>
    /// How large the caller's page shows a video it receives (by the stream id of its subscribe offer, in device pixels,
    /// 0×0 when out of sight): the relay forwards no larger simulcast layer than covers it (RouterPeer.SetViewSize). Only
    /// someone admitted may say it, and only of the receive side of their own connection that negotiates their media;
    /// anyone else, a stream they do not receive, or a size out of range gets false, and nothing changes.
    /// </summary>
    public Task<bool> SetVideoSizeAsync(string connectionId, string streamId, int width, int height)
    {
        var (room, participant) = Locate(connectionId);
        var set = participant.State == ParticipantStates.Admitted && !room.IsEnded
            && streamId is { Length: > 0 and <= MaxStreamIdLength }
            && room.MediaConnectionOf(participant.Id) == connectionId
            && _media.FindPeer(room, participant.Id) is { } peer
            && peer.SetViewSize(streamId, width, height);
        return Task.FromResult(set);
    }

    private void ApplySubscribeAnswer(string connectionId, string answerSdp)
    {
        var (room, _) = Locate(connectionId);
        var result = _media.NegotiatingPeer(room, connectionId).ApplySubscribeAnswer(answerSdp ?? string.Empty);
        if (!result.Succeeded)
        {
            throw new HubException(result.Error);
        }
    }
}
