using Microsoft.AspNetCore.SignalR;
using Teletherapy.MediaRelay;

namespace Teletherapy.Signaling.Sessions;

// Media negotiation: the SDP exchanges of a participant's tab with the relay (publish, and subscribe both ways). The
// tab that negotiates is the one the relay's later subscribe offers go to (SessionRoom.ClaimMedia).
internal sealed partial class SessionCoordinator
{
    /// <summary>The browser's publish offer → the relay's answer. Allowed while waiting, so admission is instant.</summary>
    public Task<string> PublishAsync(string connectionId, string offerSdp) => Task.FromResult(Publish(connectionId, offerSdp));

    public Task<string> CreateSubscribeOfferAsync(string connectionId) => Task.FromResult(CreateSubscribeOffer(connectionId));

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
