using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// One participant in a router, with its two peer connections (README: Architecture; a publish and a subscribe connection per participant): publish
/// (the browser offers, we answer) and subscribe (we offer, the browser answers). Its gate decides whether
/// anything flows to or from it (R3): a waiting participant may be fully connected, yet the relay forwards
/// nothing either way until <see cref="Admit"/>.
/// </summary>
public sealed partial class RouterPeer
{
    private readonly Router _router;
    private readonly RelayContext _context;
    private readonly Lock _lock = new();
    private readonly List<SubscribeSlot> _slots = [];
    private readonly Dictionary<string, Consumer> _consumersByProducer = new(StringComparer.Ordinal);
    private readonly MediaGate _gate = new();
    private readonly Dictionary<string, ViewSize> _viewSizes = new(StringComparer.Ordinal);
    private Producer[] _producers = [];
    private TransportRouting? _publish;
    private TransportRouting? _subscribe;
    private bool _subscribeAnswered;
    private ulong _offerVersion;
    private long _admittedAt;

    internal RouterPeer(string id, Router router, RelayContext context)
    {
        Id = id;
        _router = router;
        _context = context;
    }

    internal string Id { get; }

    /// <summary>The gate (R3). Shut for a new peer.</summary>
    internal bool IsAdmitted => _gate.IsOpen;

    public bool IsClosed { get; private set; }

    /// <summary>Both of the peer's connections that exist are connected (ICE and DTLS done).</summary>
    internal bool IsPublishConnected => _publish?.Transport.State == Transport.WebRtcTransportState.Connected;

    internal bool IsSubscribeConnected => _subscribe?.Transport.State == Transport.WebRtcTransportState.Connected;

    /// <summary>The relay's end of the peer's publish connection, once it published (its per-connection counters).</summary>
    internal Transport.WebRtcTransport? PublishTransport => _publish?.Transport;

    /// <summary>Raised when other peers' tracks came or went: make a new subscribe offer.</summary>
    public event Action<RouterPeer>? SubscriptionsChanged;

    /// <summary>Raised when the first media packet reaches this peer after <see cref="Admit"/>, with the time it took.</summary>
    public event Action<RouterPeer, TimeSpan>? FirstMediaAfterAdmit;

    /// <summary>Raised when one of the peer's connections closes (consent lost, DTLS closed).</summary>
    internal event Action<RouterPeer>? ConnectionClosed;

    internal IReadOnlyList<Producer> Producers => Volatile.Read(ref _producers);

    /// <summary>The peer's subscriptions: one consumer per track it receives.</summary>
    internal IReadOnlyList<Consumer> Consumers
    {
        get
        {
            lock (_lock)
            {
                return [.. _consumersByProducer.Values];
            }
        }
    }

    /// <summary>RTP packets the relay has received from this peer (gate open or not).</summary>
    internal long PacketsReceived => _publish?.RtpPacketsReceived ?? 0;

    /// <summary>RTP packets the relay has sent to this peer.</summary>
    internal long PacketsSent
    {
        get
        {
            lock (_lock)
            {
                return _consumersByProducer.Values.Sum(c => c.PacketsSent);
            }
        }
    }

    /// <summary>
    /// The level of the peer's microphone as it reached the relay (RFC 6464: 0 loudest .. 127 silence; 127 when it sends
    /// no audio), for the session's active-speaker hint.
    /// </summary>
    internal int AudioLevel
    {
        get
        {
            var level = 127;
            foreach (var producer in Producers)
            {
                if (producer.Kind == MediaKind.Audio && !producer.IsClosed)
                {
                    level = Math.Min(level, producer.AudioLevel);
                }
            }

            return level;
        }
    }

    /// <summary>The simulcast encoding (0-based, in the publisher's order) each of this peer's video subscriptions forwards now, by producer id; -1 = audio only.</summary>
    internal IReadOnlyDictionary<string, int> ReceivedEncodings
    {
        get
        {
            lock (_lock)
            {
                return _consumersByProducer.Where(kv => kv.Value.Parameters.Kind == MediaKind.Video)
                    .ToDictionary(kv => kv.Key, kv => kv.Value.CurrentEncoding, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>
    /// The playout delay each of this peer's video subscriptions asks its browser for now, by producer id: zero on clean
    /// links, raised while a hop it depends on loses packets (<see cref="PlayoutDelayPolicy"/>).
    /// </summary>
    internal IReadOnlyDictionary<string, TimeSpan> PlayoutDelays
    {
        get
        {
            lock (_lock)
            {
                return _consumersByProducer.Where(kv => kv.Value.Parameters.Kind == MediaKind.Video)
                    .ToDictionary(kv => kv.Key, kv => kv.Value.PlayoutDelay, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The subscriber's last bandwidth estimate (REMB) in bit/s, 0 before the first.</summary>
    internal long EstimatedReceiveBitrate => _subscribe?.Allocator.EstimatedBitrate ?? 0;

    /// <summary>The subscriber's last Receiver Report loss fraction for the video we send it (in 1/256), 0 before the first.</summary>
    internal int ReportedReceiveLoss => _subscribe?.Allocator.ReportedLoss ?? 0;

    /// <summary>What the subscriber's link carried when it last reported congestion loss, in bit/s (<see cref="long.MaxValue"/> = no bound).</summary>
    internal long LossBasedReceiveBound => _subscribe?.Allocator.LossBasedBound ?? long.MaxValue;

    /// <summary>Packets resent to this peer in answer to its NACKs (its own count, beside the relay-wide metric).</summary>
    internal long Retransmissions
    {
        get
        {
            lock (_lock)
            {
                return _consumersByProducer.Values.Sum(c => c.Retransmissions);
            }
        }
    }

    /// <summary>RTCP packets the relay has handled from this peer's subscribe connection (its NACKs, REMBs, reports).</summary>
    internal long SubscribeRtcpReceived => _subscribe?.RtcpPacketsReceived ?? 0;

    /// <summary>Climbs to a higher layer that this subscriber's NACKs showed failing.</summary>
    internal int ClimbsFailed => _subscribe?.Allocator.ClimbsFailed ?? 0;

    /// <summary>Opens the gate: media flows both ways, starting on fresh keyframes.</summary>
    public void Admit()
    {
        Interlocked.Exchange(ref _admittedAt, _context.Clock.Now);
        if (_gate.Open())
        {
            _router.OnGateChanged(this);
        }

        foreach (var producer in Producers)
        {
            producer.RequestKeyFrame();
        }

        lock (_lock)
        {
            foreach (var consumer in _consumersByProducer.Values)
            {
                consumer.Producer.RequestKeyFrame();
            }
        }
    }

    /// <summary>Shuts the gate (sent back to the waiting room): nothing flows either way from the next packet on.</summary>
    public void CloseGate()
    {
        if (_gate.Shut())
        {
            _router.OnGateChanged(this);
        }
    }

    /// <summary>
    /// Whether this peer's subscribe offers include the tracks of peers who are still waiting (gated). True for the
    /// listed therapists, so admission is instant both ways; false for patients and caregivers, whose offers list only
    /// people already in the session — a waiting participant learns nothing of who else is waiting.
    /// </summary>
    public bool SeesWaitingPeers { get; set; }

    /// <summary>
    /// Answers the browser's publish offer. A new offer (e.g. an ICE restart after a reconnect) replaces the previous
    /// connection, so a peer holds at most two transports (this and its subscribe connection). An offer over a cap
    /// (size, m-lines, simulcast layers, transports in all) is refused with <see cref="NegotiationResult.Limit"/> set.
    /// </summary>
    public NegotiationResult Publish(string offerSdp)
    {
        ArgumentNullException.ThrowIfNull(offerSdp);
        if (_context.Limits.CheckOffer(offerSdp) is { } tooLarge)
        {
            return tooLarge;
        }

        if (!SessionDescription.TryParse(offerSdp, out var offer))
        {
            return NegotiationResult.Fail("The offer is not valid SDP.");
        }

        if (_context.Limits.CheckSimulcast(offer!) is { } tooManyLayers)
        {
            return tooManyLayers;
        }

        string answer;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            if (LivePublishWithSameUfrag(offer!) is { } current)
            {
                // The same ICE ufrag on a live connection: no ICE restart (RFC 8839 §4.4.1.1.1), the browser added or
                // removed a track (a shared screen). The transport and the unchanged tracks stay as they are.
                if (!PublishAnswer.TryCreate(offer!, _context.LocalParameters(current.Transport), echo: false, out var again, out var againError))
                {
                    return NegotiationResult.Fail(againError!);
                }

                if (VideoTrackRefusal(again!.Producers) is { } refusedAgain)
                {
                    return refusedAgain;
                }

                if (!UpdateProducers(current, again.Producers))
                {
                    return NegotiationResult.Ok(again.Answer.ToString());
                }

                answer = again.Answer.ToString();
            }
            else
            {
                var routing = _context.TryCreateTransport(out var refusal);
                if (routing is null)
                {
                    return refusal!;
                }

                if (!PublishAnswer.TryCreate(offer!, _context.LocalParameters(routing.Transport), echo: false, out var negotiation, out var error)
                    || !DtlsFingerprint.TryParse(negotiation!.Remote.Fingerprint.ToString(), out var fingerprint))
                {
                    routing.Transport.Dispose();
                    return NegotiationResult.Fail(error ?? "The offer's fingerprint is not valid.");
                }

                if (VideoTrackRefusal(negotiation.Producers) is { } refused)
                {
                    routing.Transport.Dispose();
                    return refused;
                }

                routing.Transport.SetRemote(negotiation.Remote.IceUfrag, fingerprint!);
                ReplacePublishTransport(routing);
                Volatile.Write(ref _producers, []);
                UpdateProducers(routing, negotiation.Producers);
                routing.Closed += OnTransportClosed;
                answer = negotiation.Answer.ToString();
            }
        }

        // Outside our lock: a handler may renegotiate another peer at once, and that peer may be publishing too.
        _router.OnProducersChanged(this);
        return NegotiationResult.Ok(answer);
    }

    /// <summary>
    /// How many video tracks this peer may publish at once (every sending video m-line is one; simulcast layers are
    /// one track). An offer with more is refused (<see cref="MediaLimits.VideoTracks"/>); lowering it closes the
    /// video tracks beyond it, the last m-lines first, and the others are told to renegotiate. No limit at first.
    /// </summary>
    internal int MaxVideoTracks => Volatile.Read(ref _maxVideoTracks);

    public void LimitVideoTracks(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var closed = false;
        lock (_lock)
        {
            Volatile.Write(ref _maxVideoTracks, max);
            var kept = new List<Producer>();
            var video = 0;
            foreach (var producer in Volatile.Read(ref _producers))
            {
                if (producer.Kind == MediaKind.Video && ++video > max)
                {
                    producer.Close();
                    _publish?.RemoveProducer(producer);
                    closed = true;
                    continue;
                }

                kept.Add(producer);
            }

            Volatile.Write(ref _producers, [.. kept]);
        }

        if (closed)
        {
            _router.OnProducersChanged(this);
        }
    }

    private int _maxVideoTracks = int.MaxValue;
    private readonly HashSet<string> _producerIds = new(StringComparer.Ordinal);
    private int _producerGeneration;

    private NegotiationResult? VideoTrackRefusal(IReadOnlyList<ProducerParameters> producers)
    {
        var video = producers.Count(p => p.Kind == MediaKind.Video);
        var max = MaxVideoTracks;
        return video <= max
            ? null
            : NegotiationResult.Refused(MediaLimits.VideoTracks, $"The offer sends {video} video tracks; this participant may send {max}.");
    }

    /// <summary>Under the lock: the live publish connection when the offer keeps its ICE ufrag (a renegotiation).</summary>
    private TransportRouting? LivePublishWithSameUfrag(SessionDescription offer) =>
        _publish is { } current && current.Transport.State != Transport.WebRtcTransportState.Closed
            && RemoteTransportParameters.TryRead(offer, out var remote, out _)
            && string.Equals(remote!.IceUfrag, current.Transport.RemoteIceUfrag, StringComparison.Ordinal)
            ? current
            : null;

    /// <summary>
    /// Under the lock: makes the peer's producers those of the offer. A track whose m-line is unchanged keeps its
    /// producer (and every subscriber its consumer); a changed one gets a new producer under a new id; a track no
    /// longer sent is closed. Returns whether anything changed.
    /// </summary>
    private bool UpdateProducers(TransportRouting routing, IReadOnlyList<ProducerParameters> wanted)
    {
        var labels = StreamLabels(wanted);
        var old = Volatile.Read(ref _producers);
        var next = new List<Producer>();
        var changed = false;
        foreach (var parameters in wanted)
        {
            var existing = Array.Find(old, p => p.Parameters.Mid == parameters.Mid && !p.IsClosed);
            if (existing is not null && SameTrack(existing, parameters, labels[parameters.Mid]))
            {
                next.Add(existing);
                continue;
            }

            if (existing is not null)
            {
                existing.Close();
                routing.RemoveProducer(existing);
            }

            // A producer id is never reused: subscribers key their consumers by it, and a changed track is a new one.
            var id = $"{Id}:{parameters.Mid}:{routing.Transport.Id}";
            if (!_producerIds.Add(id))
            {
                id += $":{++_producerGeneration}";
                _producerIds.Add(id);
            }

            var producer = new Producer(id, parameters, routing.Transport, _gate, _context.RetransmissionBlocks, _context.Clock) { StreamLabel = labels[parameters.Mid] };
            routing.AddProducer(producer);
            next.Add(producer);
            changed = true;
        }

        foreach (var gone in old)
        {
            if (!next.Contains(gone))
            {
                gone.Close();
                routing.RemoveProducer(gone);
                changed = true;
            }
        }

        Volatile.Write(ref _producers, [.. next]);
        return changed;
    }

    /// <summary>The subscriber-facing stream id of each m-line (<see cref="Producer.StreamLabel"/>), by mid.</summary>
    private Dictionary<string, string> StreamLabels(IReadOnlyList<ProducerParameters> producers)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var streams = new Dictionary<string, string>(StringComparer.Ordinal);
        var first = producers.Count > 0 ? producers[0].StreamId : null;
        foreach (var parameters in producers)
        {
            if (parameters.StreamId is null || parameters.StreamId == first)
            {
                labels[parameters.Mid] = Id;
                continue;
            }

            if (!streams.TryGetValue(parameters.StreamId, out var label))
            {
                label = streams[parameters.StreamId] = $"{Id}~{parameters.Mid}";
            }

            labels[parameters.Mid] = label;
        }

        return labels;
    }

    private static bool SameTrack(Producer existing, ProducerParameters wanted, string label)
    {
        var had = existing.Parameters;
        return had.Kind == wanted.Kind && had.Codec == wanted.Codec && had.Extensions == wanted.Extensions
            && had.Encodings.SequenceEqual(wanted.Encodings) && existing.StreamLabel == label;
    }

    /// <summary>
    /// Makes the subscribe offer for every track of the other peers: new consumers get new m-lines, consumers
    /// whose producer is gone keep their slot with port 0. Call again whenever <see cref="SubscriptionsChanged"/> fires.
    /// </summary>
    public NegotiationResult CreateSubscribeOffer()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            if (_subscribe is null || _subscribe.Transport.State == Transport.WebRtcTransportState.Closed)
            {
                var routing = _context.TryCreateTransport(out var refusal);
                if (routing is null)
                {
                    return refusal!;
                }

                _subscribe = routing;
                _subscribe.Closed += OnTransportClosed;
                _subscribeAnswered = false;
                _slots.Clear();
                foreach (var consumer in _consumersByProducer.Values)
                {
                    consumer.Close();
                }

                _consumersByProducer.Clear();
            }

            var live = _router.ProducersExcept(this).Where(p => !p.IsClosed).ToList();
            for (var i = 0; i < _slots.Count; i++)
            {
                if (_slots[i].Consumer is { } parameters && !live.Any(p => _consumersByProducer.TryGetValue(p.Id, out var c) && c.Parameters == parameters))
                {
                    var gone = _consumersByProducer.FirstOrDefault(kv => kv.Value.Parameters == parameters);
                    if (gone.Value is not null)
                    {
                        gone.Value.Close();
                        _subscribe.RemoveConsumer(gone.Value);
                        _consumersByProducer.Remove(gone.Key);
                    }

                    _slots[i] = _slots[i] with { Consumer = null };
                }
            }

            foreach (var producer in live)
            {
                if (_consumersByProducer.ContainsKey(producer.Id))
                {
                    continue;
                }

                var mid = _slots.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var parameters = new ConsumerParameters(
                    mid,
                    producer.Kind,
                    SubscribeOffer.CodecFor(producer.Parameters.Codec),
                    SubscribeOffer.Extensions,
                    PublishAnswer.RandomSsrc(),
                    producer.Kind == MediaKind.Video ? PublishAnswer.RandomSsrc() : null,
                    PublishAnswer.Cname,
                    producer.StreamLabel ?? PeerIdOf(producer),
                    producer.Id);
                var consumer = new Consumer($"{Id}<{producer.Id}", parameters, producer, _subscribe, _gate, _context.Clock)
                {
                    FirstPacketAfterStart = OnConsumerFirstPacket,
                };
                if (producer.Kind == MediaKind.Video && _viewSizes.TryGetValue(parameters.StreamId, out var view))
                {
                    consumer.View = view; // the page's tile for this stream, from an earlier receive connection
                }

                _consumersByProducer[producer.Id] = consumer;
                _subscribe.AddConsumer(consumer);
                producer.AddConsumer(consumer);
                _slots.Add(new SubscribeSlot(mid, producer.Kind, parameters));
            }

            // View sizes are kept for the streams received (a new receive connection takes them over), no others.
            foreach (var stream in _viewSizes.Keys.Where(id => !_consumersByProducer.Values.Any(c => c.Parameters.StreamId == id)).ToList())
            {
                _viewSizes.Remove(stream);
            }

            var offer = SubscribeOffer.Create(_slots, _context.LocalParameters(_subscribe.Transport), firstOffer: !_subscribeAnswered, ++_offerVersion);
            return NegotiationResult.Ok(offer.ToString());
        }
    }

    /// <summary>
    /// The subscribe offer for a new receive connection: the browser's first, or one that replaces a connection it lost
    /// (a reloaded tab, a second tab taking over, a connection that failed). The previous connection, if any, is closed
    /// with its consumers; the new one starts with the first offer's DTLS role and numbers its m-lines from 0. A browser
    /// cannot take a fresh connection on the peer connection that held the old one (its DTLS association stays), so it
    /// answers this on a new one.
    /// </summary>
    public NegotiationResult CreateSubscribeOfferOnNewConnection()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            if (_subscribe is { } old)
            {
                old.Closed -= OnTransportClosed;
                foreach (var consumer in _consumersByProducer.Values)
                {
                    consumer.Close();
                }

                _consumersByProducer.Clear();
                _slots.Clear();
                _subscribe = null;
                old.Transport.Dispose();
            }
        }

        return CreateSubscribeOffer();
    }

    /// <summary>Applies the browser's answer to the last subscribe offer.</summary>
    public NegotiationResult ApplySubscribeAnswer(string answerSdp)
    {
        ArgumentNullException.ThrowIfNull(answerSdp);
        int offered;
        lock (_lock)
        {
            offered = _slots.Count;
        }

        if (_context.Limits.CheckAnswer(answerSdp, offered) is { } tooLarge)
        {
            return tooLarge;
        }

        if (!SessionDescription.TryParse(answerSdp, out var answer))
        {
            return NegotiationResult.Fail("The answer is not valid SDP.");
        }

        lock (_lock)
        {
            if (_subscribe is null)
            {
                return NegotiationResult.Fail("There is no subscribe offer to answer.");
            }

            // Offers only grow (a slot is never reused), so an answer with fewer m-lines answers an earlier offer that a
            // newer one overtook while the browser was answering (several people joining at once). It is checked
            // against the slots it knew; the browser answers the newer offer next (JSEP, RFC 9429 §4.1.8: offers are
            // handled in turn), and until then the newer tracks simply wait.
            var answered = answer!.Media.Count < _slots.Count ? _slots.GetRange(0, answer.Media.Count) : _slots;
            if (!SubscribeOffer.TryReadAnswer(answer, answered, out var remote, out var error)
                || !DtlsFingerprint.TryParse(remote!.Fingerprint.ToString(), out var fingerprint))
            {
                return NegotiationResult.Fail(error ?? "The answer's fingerprint is not valid.");
            }

            if (!_subscribeAnswered)
            {
                _subscribe.Transport.SetRemote(remote.IceUfrag, fingerprint!);
                _subscribeAnswered = true;
            }

            foreach (var consumer in _consumersByProducer.Values)
            {
                consumer.RtxEnabled = SubscribeOffer.AcceptsRtx(answer, consumer.Parameters);
            }

            return NegotiationResult.Ok(answerSdp);
        }
    }

    /// <summary>Closes both connections and frees every producer and consumer of this peer.</summary>
    internal void Close()
    {
        lock (_lock)
        {
            if (IsClosed)
            {
                return;
            }

            IsClosed = true;
            _gate.Shut();
            foreach (var consumer in _consumersByProducer.Values)
            {
                consumer.Close();
            }

            _consumersByProducer.Clear();
            foreach (var producer in Volatile.Read(ref _producers))
            {
                producer.Close();
            }

            _producers = [];
            _publish?.Transport.Dispose();
            _subscribe?.Transport.Dispose();
        }

        _router.OnProducersChanged(this);
    }

    internal void RaiseSubscriptionsChanged() => SubscriptionsChanged?.Invoke(this);

    private void ReplacePublishTransport(TransportRouting routing)
    {
        var old = _publish;
        _publish = routing;
        if (old is null)
        {
            return;
        }

        old.Closed -= OnTransportClosed;
        foreach (var producer in Volatile.Read(ref _producers))
        {
            producer.Close();
        }

        old.Transport.Dispose();
    }

    /// <summary>
    /// A connection died (consent expired, DTLS closed): free what it held. A dead publish connection takes its
    /// producers with it (the others are told to re-offer); a dead subscribe connection drops its consumers, and a
    /// subscribe offer for a fresh connection is asked for at once (<see cref="SubscriptionsChanged"/>).
    /// </summary>
    private void OnTransportClosed(TransportRouting routing)
    {
        var producersGone = false;
        var subscribeGone = false;
        lock (_lock)
        {
            if (IsClosed)
            {
                return;
            }

            if (ReferenceEquals(routing, _publish))
            {
                foreach (var producer in Volatile.Read(ref _producers))
                {
                    producer.Close();
                }

                Volatile.Write(ref _producers, []);
                _publish = null;
                producersGone = true;
            }
            else if (ReferenceEquals(routing, _subscribe))
            {
                foreach (var consumer in _consumersByProducer.Values)
                {
                    consumer.Close();
                }

                _consumersByProducer.Clear();
                _slots.Clear();
                _subscribe = null;
                subscribeGone = true;
            }
        }

        if (producersGone)
        {
            _router.OnProducersChanged(this);
        }

        if (subscribeGone)
        {
            // The browser still holds the dead connection: offer it a new one (a new ICE ufrag tells it so).
            RaiseSubscriptionsChanged();
        }

        ConnectionClosed?.Invoke(this);
    }

    private void OnConsumerFirstPacket(Consumer consumer)
    {
        var admittedAt = Interlocked.Exchange(ref _admittedAt, 0);
        if (admittedAt != 0)
        {
            FirstMediaAfterAdmit?.Invoke(this, _context.Clock.Since(admittedAt));
        }
    }

    private string PeerIdOf(Producer producer)
    {
        var colon = producer.Id.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? producer.Id[..colon] : producer.Id;
    }
}
