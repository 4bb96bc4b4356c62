using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// The relay side of the rooms held here: each room's router (made only while the room is held, closed with it), its
/// participants' peers, and the subscribe offers the relay pushes when tracks come and go, sent to the tab that
/// negotiates the participant's media (<see cref="SessionRoom.ClaimMedia"/>). Which peer belongs to whom is the room's
/// and the router's; nothing here keeps a participant's state.
/// </summary>
internal sealed class SessionMedia(SessionRegistry registry, MediaRelayService relay, IHubContext<SessionHub, ISessionClient> hub)
{
    // The peers whose events are listened to, each once: keyed by the peer itself, so a peer made anew is listened to anew.
    private readonly ConditionalWeakTable<RouterPeer, SessionRoom> _listened = new();

    /// <summary>Video tracks a participant may publish: the camera, and a shared screen for those who may share.</summary>
    public static int VideoTracksFor(ParticipantView participant) => participant.MayShareScreen ? 2 : 1;

    public RouterPeer? FindPeer(SessionRoom room, string participantId) => FindRouter(room)?.FindPeer(participantId);

    /// <summary>Closes the participant's transports and frees what they published and received.</summary>
    public void RemovePeer(SessionRoom room, string participantId) => FindRouter(room)?.RemovePeer(participantId);

    /// <summary>The room's router and every peer in it go (pass to <see cref="SessionRegistry.Close"/>, which runs it under its lock).</summary>
    public void CloseRouter(SessionRoom room) => FindRouter(room)?.Dispose();

    /// <summary>
    /// The participant's peer, made on first use while the room is held; null once the room is closed or released.
    /// Throws <see cref="Teletherapy.MediaRelay.MediaLimitExceededException"/> when the relay has no room for it.
    /// </summary>
    public RouterPeer? Peer(SessionRoom room, string participantId)
    {
        var peer = registry.WhileHeld(room, () => relay.GetOrCreateRouter(RouterId(room)).GetOrAddPeer(participantId));
        if (peer is not null && _listened.TryAdd(peer, room))
        {
            peer.SubscriptionsChanged += p => _ = PushSubscribeOfferAsync(room, participantId, p);
            peer.FirstMediaAfterAdmit += (_, elapsed) => SessionMetrics.AdmitToFirstPacket.Observe(elapsed.TotalSeconds);
        }

        return peer;
    }

    /// <summary>
    /// The peer of the participant whose tab this connection is, which negotiates their media from now on. Only for
    /// participants who wait or are admitted: a denied participant's open tab must not get a transport back.
    /// </summary>
    public RouterPeer NegotiatingPeer(SessionRoom room, string connectionId)
    {
        var participant = room.ClaimMedia(connectionId) ?? throw new HubException("Join the session first.");
        if (participant.State is not (ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack or ParticipantStates.Admitted))
        {
            throw new HubException("Media is only for participants who wait or are admitted.");
        }

        return Peer(room, participant.Id) ?? throw new HubException("Join the session first.");
    }

    private Router? FindRouter(SessionRoom room) => relay.FindRouter(RouterId(room));

    private static string RouterId(SessionRoom room) => room.AppointmentId.ToString("N");

    private async Task PushSubscribeOfferAsync(SessionRoom room, string participantId, RouterPeer peer)
    {
        try
        {
            if (peer.IsClosed || room.MediaConnectionOf(participantId) is not { } connection)
            {
                return;
            }

            var offer = peer.CreateSubscribeOffer();
            if (offer.Succeeded)
            {
                await hub.Clients.Client(connection).SubscribeOffer(offer.Sdp!).ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
