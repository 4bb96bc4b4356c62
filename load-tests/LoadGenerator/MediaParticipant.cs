using System.Diagnostics;
using Teletherapy.LoadTests.Media;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.LoadTests;

/// <summary>
/// One synthetic participant on MediaRelay's client-side stack: a publish connection that sends the looped VP8 and
/// Opus files in real time (paced by a <see cref="Pacer"/> thread, one RTP packet per Opus frame, VP8 frames split
/// per RFC 7741), and a subscribe connection that receives the other participant's media and measures it: packets,
/// loss from the payload trailers' counters, and transit latency from their send timestamps; it also reports what it
/// received to the relay about once a second, as browsers do (<see cref="ReceptionReports"/>).
/// </summary>
internal sealed class MediaParticipant : IDisposable
{
    /// <summary>Largest RTP packet we send before SRTP (header, payload and trailer), as browsers keep to about 1200.</summary>
    public const int MaxRtpPacket = 1200;

    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate("teletherapy-load");
    private static readonly long AudioInterval = Stopwatch.Frequency / 50;

    /// <summary>How soon to look again for a report while none can be written (not connected, nothing received).</summary>
    private static readonly long ReportRecheck = Stopwatch.Frequency / 10;

    private readonly MediaSet _media;
    private readonly LoadStats _stats;
    private readonly IceCredentials _publishIce = IceCredentials.Create();
    private readonly IceCredentials _subscribeIce = IceCredentials.Create();
    private readonly SendStream _audio;
    private readonly SendStream[] _video;
    private readonly uint _videoRtxSsrc = ClientNegotiation.RandomSsrc();
    private readonly byte[] _buffer = new byte[MaxRtpPacket + WebRtcTransport.MaxProtectionOverhead + 64];
    private readonly byte[] _reportBuffer = new byte[ReceptionReports.MaxLength + WebRtcTransport.MaxProtectionOverhead];
    private readonly ReceptionReports _reports = new(ClientNegotiation.OpusPayloadType);
    private readonly uint _reportSsrc = ClientNegotiation.RandomSsrc();
    private readonly long _videoInterval;
    private readonly ClientReceiveGroup? _receiveGroup;
    private readonly ClientUdpPort? _port;
    private readonly Lock _subscribeLock = new();
    private readonly List<ReceiveStream> _receive = [];
    private ReceiveStream[] _receiveArray = [];
    private WebRtcClientTransport? _publish;
    private WebRtcClientTransport? _subscribe;
    private RelayTransportParameters? _subscribeRelay;
    private volatile bool _sending;
    private volatile bool _keyFrameWanted;
    private long _reportCheckAt;
    private long _nextAudio;
    private long _nextVideo;
    private int _audioCursor;
    private int _videoCursor;
    private ushort _pictureId = (ushort)Random.Shared.Next(0, 0x8000);
    private ushort _transportSequence;
    private long _packetsSent;
    private long _firstPacketTimestamp;

    /// <param name="receiveGroup">Threads that read both connections' sockets; null: each connection its own thread.</param>
    /// <param name="port">
    /// A UDP port both connections share with other participants' (each on an address of its own), in place of sockets
    /// of their own and <paramref name="receiveGroup"/>; null: sockets of their own.
    /// </param>
    public MediaParticipant(string name, MediaSet media, LoadStats stats, bool simulcast, ClientReceiveGroup? receiveGroup = null, ClientUdpPort? port = null)
    {
        _receiveGroup = receiveGroup;
        _port = port;
        Name = name;
        _media = media;
        _stats = stats;
        Simulcast = simulcast;
        _audio = new SendStream(ClientNegotiation.RandomSsrc(), null);
        _video = media.Layers.Select(l => new SendStream(ClientNegotiation.RandomSsrc(), simulcast ? l.Rid : null)).ToArray();
        _videoInterval = Stopwatch.Frequency / media.FramesPerSecond;
    }

    public string Name { get; }

    public bool Simulcast { get; }

    public long PacketsSent => Volatile.Read(ref _packetsSent);

    /// <summary>When the first media packet arrived on the subscribe connection (Stopwatch timestamp; 0 = not yet).</summary>
    public long FirstPacketTimestamp => Volatile.Read(ref _firstPacketTimestamp);

    public bool IsPublishing => _publish?.State == WebRtcTransportState.Connected;

    public bool IsReceiving => FirstPacketTimestamp != 0 && _subscribe?.State == WebRtcTransportState.Connected;

    public TaskCompletionSource FirstPacket { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The relay's end of the publish connection as its answer gave it (candidates, ICE ufrag), once published.</summary>
    public RelayTransportParameters? PublishRelay { get; private set; }

    public IReadOnlyList<ClientTrack> Tracks => Simulcast
        ? [ClientTrack.Audio("0", _audio.Ssrc), ClientTrack.SimulcastVideo("1", _media.Layers.Select(l => l.Rid).ToList())]
        : [ClientTrack.Audio("0", _audio.Ssrc), ClientTrack.Video("1", _video[0].Ssrc, _videoRtxSsrc)];

    /// <summary>
    /// Offers audio and video, hands the offer to <paramref name="exchange"/> (the signaling: hub or Janus) for the
    /// relay's answer, connects the publish transport and starts sending. <paramref name="setupActive"/> offers
    /// <c>a=setup:active</c> instead of actpass, for relays that would otherwise take the DTLS client role themselves.
    /// </summary>
    public async Task PublishAsync(Func<string, Task<string>> exchange, bool setupActive, Pacer pacer, CancellationToken cancellationToken)
    {
        var local = ClientNegotiation.LocalParameters(_publishIce, Certificate.Fingerprint);
        var offer = ClientNegotiation.CreatePublishOffer(Tracks, local, "cname-" + Name, "stream-" + Name).ToString();
        if (Simulcast)
        {
            // The layers' SSRCs are fixed by us; name them (RFC 5576 §4.1) for relays that bind streams by a=ssrc.
            offer = offer.Replace("a=simulcast:", string.Join(string.Empty, _video.Select(v => $"a=ssrc:{v.Ssrc} cname:cname-{Name}\r\n")) + "a=simulcast:", StringComparison.Ordinal);
        }

        if (setupActive)
        {
            offer = offer.Replace("a=setup:actpass", "a=setup:active", StringComparison.Ordinal);
        }

        var answerSdp = await exchange(offer).ConfigureAwait(false);
        if (!ClientNegotiation.TryReadPublishAnswer(answerSdp, out var answer, out var error))
        {
            throw new InvalidOperationException($"{Name}: the publish answer is unusable: {error}");
        }

        PublishRelay = answer!.Relay;
        var transport = CreateTransport(answer.Relay, _publishIce);
        transport.SetListener(new Listener(this, publish: true));
        _publish = transport;
        await transport.ConnectAsync(cancellationToken).ConfigureAwait(false);
        var now = Stopwatch.GetTimestamp();
        _nextAudio = now + Random.Shared.NextInt64(AudioInterval);
        _nextVideo = now + Random.Shared.NextInt64(_videoInterval);
        _keyFrameWanted = true;
        _sending = true;
        pacer.Add(this);
    }

    /// <summary>Answers a subscribe offer (as a browser, recvonly) and remembers how to reach the relay.</summary>
    public string AnswerSubscribeOffer(string offerSdp)
    {
        var local = ClientNegotiation.LocalParameters(_subscribeIce, Certificate.Fingerprint);
        if (!ClientNegotiation.TryCreateSubscribeAnswer(offerSdp, local, out var answer, out var error))
        {
            throw new InvalidOperationException($"{Name}: cannot answer the subscribe offer: {error}");
        }

        lock (_subscribeLock)
        {
            _subscribeRelay ??= answer!.Relay;
        }

        return answer!.Answer.ToString();
    }

    /// <summary>Connects the subscribe transport once an answered offer named the relay (idempotent).</summary>
    public async Task EnsureSubscribeConnectedAsync(CancellationToken cancellationToken)
    {
        WebRtcClientTransport transport;
        lock (_subscribeLock)
        {
            if (_subscribe is not null || _subscribeRelay is null)
            {
                return;
            }

            transport = CreateTransport(_subscribeRelay, _subscribeIce);
            transport.SetListener(new Listener(this, publish: false));
            _subscribe = transport;
        }

        await transport.ConnectAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Totals over every stream received so far: packets received, and packets expected from the first one received
    /// on. A stream of one of <paramref name="publishers"/> is expected up to what its publisher has sent, so a stream
    /// that stalls counts as loss; a simulcast layer (the relay forwards one layer at a time and may switch) and a
    /// stream of no publisher given are expected up to the highest counter received.
    /// </summary>
    public (long Expected, long Received) ReceiveTotals(IReadOnlyList<MediaParticipant> publishers)
    {
        long expected = 0;
        long received = 0;
        foreach (var stream in Volatile.Read(ref _receiveArray))
        {
            // Received first: a packet that arrives between the two reads is then also expected.
            received += Volatile.Read(ref stream.Received);
            var end = Volatile.Read(ref stream.MaxCounter) + 1;
            foreach (var publisher in publishers)
            {
                if (publisher != this && publisher.TryGetSentCounter(stream.Ssrc, out var sent))
                {
                    end = Math.Max(end, sent);
                    break;
                }
            }

            expected += end - stream.FirstCounter;
        }

        return (expected, received);
    }

    /// <summary>Packets received so far of <paramref name="publisher"/>'s audio, and of its video (any layer).</summary>
    public (long Audio, long Video) ReceivedFrom(MediaParticipant publisher)
    {
        long audio = 0;
        long video = 0;
        foreach (var stream in Volatile.Read(ref _receiveArray))
        {
            if (stream.Ssrc == publisher._audio.Ssrc)
            {
                audio += Volatile.Read(ref stream.Received);
            }
            else if (Array.Exists(publisher._video, v => v.Ssrc == stream.Ssrc))
            {
                video += Volatile.Read(ref stream.Received);
            }
        }

        return (audio, video);
    }

    /// <summary>
    /// How many packets this participant has sent on the stream <paramref name="ssrc"/>: its audio, or its video
    /// without simulcast (with simulcast, which layer a subscriber gets is the relay's choice).
    /// </summary>
    private bool TryGetSentCounter(uint ssrc, out long sent)
    {
        var stream = ssrc == _audio.Ssrc ? _audio : !Simulcast && ssrc == _video[0].Ssrc ? _video[0] : null;
        sent = stream is null ? 0 : Volatile.Read(ref stream.Counter);
        return stream is not null;
    }

    /// <summary>
    /// Sends what is due at <paramref name="now"/> (into <paramref name="batch"/> on a shared port, sent when the pacer
    /// flushes it); returns when the next packet is due. Called by one pacer thread.
    /// </summary>
    public long Pump(long now, ClientSendBatch batch)
    {
        if (!_sending)
        {
            return long.MaxValue;
        }

        // Far behind (a stalled machine): skip rather than burst, as a real-time sender would.
        if (now - _nextAudio > Stopwatch.Frequency / 2)
        {
            _nextAudio = now;
        }

        if (now - _nextVideo > Stopwatch.Frequency / 2)
        {
            _nextVideo = now;
        }

        while (now >= _nextAudio)
        {
            SendAudio(batch);
            _nextAudio += AudioInterval;
        }

        while (now >= _nextVideo)
        {
            SendVideoFrame(batch);
            _nextVideo += _videoInterval;
        }

        SendReceptionReport(now);
        return Math.Min(_nextAudio, _nextVideo);
    }

    public void StopSending() => _sending = false;

    /// <summary>
    /// False for a participant that stops taking in its media once the window starts (<c>--listeners</c>): it is then
    /// left out of what is expected and received.
    /// </summary>
    public bool Listens { get; init; } = true;

    /// <summary>RTP the subscribe connection dropped unread since <see cref="StopListening"/>.</summary>
    public long RtpDroppedUnread => _subscribe?.RtpDropped ?? 0;

    /// <summary>From now on the subscribe connection drops the RTP it reads undecrypted (it stays connected).</summary>
    public void StopListening()
    {
        if (_subscribe is { } subscribe)
        {
            subscribe.DropRtp = true;
        }
    }

    public void Dispose()
    {
        _sending = false;
        _publish?.Dispose();
        _subscribe?.Dispose();
    }

    /// <summary>
    /// A client transport toward the relay's UDP candidate. The tie-breaker is the largest possible, so a full ICE relay
    /// (Janus) that made the offer and so also believes it controls yields the role to us (RFC 8445 §7.3.1.1); an
    /// ICE-lite relay (ours) is controlled anyway. The participant's receive group reads its socket.
    /// </summary>
    private WebRtcClientTransport CreateTransport(RelayTransportParameters relay, IceCredentials ice)
    {
        if (!relay.TryGetEndpoint(IceTransportProtocol.Udp, out var endpoint))
        {
            throw new InvalidOperationException("The relay offered no UDP candidate.");
        }

        return new WebRtcClientTransport(ice, Certificate, relay.IceUfrag, relay.IcePassword, relay.Fingerprint, endpoint!, IceTransportProtocol.Udp, iceTieBreaker: ulong.MaxValue)
        {
            ReceiveGroup = _receiveGroup,
            SharedPort = _port,
        };
    }

    private void SendAudio(ClientSendBatch batch)
    {
        var packet = _media.OpusPackets[_audioCursor];
        _audioCursor = (_audioCursor + 1) % _media.OpusPackets.Count;
        var stream = _audio;
        var ids = ClientNegotiation.AudioExtensions;
        var writer = new RtpHeaderWriter(_buffer, ClientNegotiation.OpusPayloadType, stream.Sequence++, stream.Timestamp, stream.Ssrc, marker: false);
        stream.Timestamp += 960; // 20 ms at 48 kHz
        writer.AddOneByteExtension((byte)ids.AudioLevel, [0x80 | 30]);
        var header = AddExtensions(ref writer, ids.AbsSendTime, ids.TransportWideCc, ids.Mid, "0"u8, 0, null);
        packet.CopyTo(_buffer.AsSpan(header));
        Send(stream, header + packet.Length, batch);
    }

    private void SendVideoFrame(ClientSendBatch batch)
    {
        var frameCount = _media.Layers[^1].Frames.Count;
        if (_keyFrameWanted)
        {
            // A relay asked for a keyframe (PLI/FIR): jump to the next one in the file, as an encoder would make one now.
            _keyFrameWanted = false;
            for (var i = 0; i < frameCount && !_media.Layers[^1].Frames[_videoCursor % frameCount].KeyFrame; i++)
            {
                _videoCursor = (_videoCursor + 1) % frameCount;
            }
        }

        var pictureId = _pictureId;
        _pictureId = (ushort)((_pictureId + 1) & 0x7FFF);
        for (var layer = 0; layer < _video.Length; layer++)
        {
            var frames = _media.Layers[layer].Frames;
            SendFrame(_video[layer], frames[_videoCursor % frames.Count].Data, pictureId, batch);
        }

        _videoCursor = (_videoCursor + 1) % frameCount;
    }

    /// <summary>
    /// RFC 7741 §4: each packet carries the payload descriptor (X=1, S=1 on the first packet of the frame, PID 0, I=1
    /// with a 15-bit PictureID), then a piece of the frame; the marker bit ends the frame (§4.1). Same timestamp for all.
    /// </summary>
    private void SendFrame(SendStream stream, byte[] frame, ushort pictureId, ClientSendBatch batch)
    {
        var ids = ClientNegotiation.VideoExtensions;
        var timestamp = stream.Timestamp;
        stream.Timestamp += 3000; // 30 fps at 90 kHz
        var offset = 0;
        while (offset < frame.Length)
        {
            var sequence = stream.Sequence++;
            var writer = new RtpHeaderWriter(_buffer, ClientNegotiation.Vp8PayloadType, sequence, timestamp, stream.Ssrc, marker: false);
            var header = AddExtensions(ref writer, ids.AbsSendTime, ids.TransportWideCc, ids.Mid, "1"u8, ids.RtpStreamId, stream.Rid);
            var room = MaxRtpPacket - header - 4 - PayloadTrailer.Length;
            var chunk = Math.Min(room, frame.Length - offset);
            var last = offset + chunk == frame.Length;
            if (last)
            {
                _buffer[1] |= 0x80;
            }

            var payload = _buffer.AsSpan(header);
            payload[0] = (byte)(0x80 | (offset == 0 ? 0x10 : 0)); // X, S, PID 0
            payload[1] = 0x80; // I: PictureID present
            payload[2] = (byte)(0x80 | (pictureId >> 8)); // M: 15-bit PictureID
            payload[3] = (byte)pictureId;
            frame.AsSpan(offset, chunk).CopyTo(payload[4..]);
            offset += chunk;
            Send(stream, header + 4 + chunk, batch);
        }
    }

    private int AddExtensions(ref RtpHeaderWriter writer, int absSendTimeId, int transportCcId, int midId, ReadOnlySpan<byte> mid, int ridId, byte[]? rid)
    {
        // abs-send-time: 24-bit 6.18 fixed-point seconds.
        var now = Stopwatch.GetTimestamp();
        var abs = (uint)((UInt128)(ulong)now * (1u << 18) / (ulong)Stopwatch.Frequency) & 0xFFFFFF;
        writer.AddOneByteExtension((byte)absSendTimeId, [(byte)(abs >> 16), (byte)(abs >> 8), (byte)abs]);
        var twcc = _transportSequence++;
        writer.AddOneByteExtension((byte)transportCcId, [(byte)(twcc >> 8), (byte)twcc]);
        writer.AddOneByteExtension((byte)midId, mid);
        if (rid is not null)
        {
            writer.AddOneByteExtension((byte)ridId, rid);
        }

        return writer.Complete();
    }

    private void Send(SendStream stream, int length, ClientSendBatch batch)
    {
        PayloadTrailer.Write(_buffer.AsSpan(length), stream.Ssrc, stream.Counter, Stopwatch.GetTimestamp());
        Volatile.Write(ref stream.Counter, stream.Counter + 1);
        if (_publish!.SendRtp(_buffer, length + PayloadTrailer.Length, batch))
        {
            Volatile.Write(ref _packetsSent, _packetsSent + 1);
        }
    }

    /// <summary>
    /// About once a second, as a browser does, a Receiver Report on the subscribe connection for what it received
    /// (<see cref="ReceptionReports"/>): the relay learns this subscriber's loss and round trip from it.
    /// </summary>
    private void SendReceptionReport(long now)
    {
        // Asked on every send; the answer is "not yet" all but once a second. Looking at this participant's own field
        // first keeps the subscribe transport and the report state (last touched a second ago, so out of the caches)
        // off the path of every packet sent: they were the pacer's costliest lines of its own.
        if (now < _reportCheckAt)
        {
            return;
        }

        if (Volatile.Read(ref _subscribe) is { State: WebRtcTransportState.Connected } subscribe
            && _reports.WriteDue(_reportBuffer, _reportSsrc, now) is > 0 and var length)
        {
            subscribe.SendRtcp(_reportBuffer, length);
        }

        // The next report's time, or a look again shortly while there is nothing to report on yet.
        _reportCheckAt = Math.Max(_reports.NextReport, now + ReportRecheck);
    }

    private void OnRtp(Span<byte> packet)
    {
        var now = Stopwatch.GetTimestamp();
        if (!RtpHeader.TryRead(packet, out var header))
        {
            return;
        }

        _reports.OnRtp(header, now);
        if (!PayloadTrailer.TryRead(header.Payload, out var ssrc, out var counter, out var sent))
        {
            return;
        }

        var streams = _receiveArray;
        ReceiveStream? stream = null;
        foreach (var s in streams)
        {
            if (s.Ssrc == ssrc)
            {
                stream = s;
                break;
            }
        }

        if (stream is null)
        {
            stream = new ReceiveStream(ssrc, counter);
            _receive.Add(stream);
            Volatile.Write(ref _receiveArray, [.. _receive]);
        }

        if (counter > stream.MaxCounter)
        {
            Volatile.Write(ref stream.MaxCounter, counter);
        }

        Volatile.Write(ref stream.Received, stream.Received + 1);
        _stats.RecordLatency((now - sent) * 1_000_000.0 / Stopwatch.Frequency);
        if (_firstPacketTimestamp == 0)
        {
            Volatile.Write(ref _firstPacketTimestamp, now);
            FirstPacket.TrySetResult();
        }
    }

    private void OnPublishRtcp(Span<byte> datagram)
    {
        foreach (var rtcp in new RtcpPacketEnumerator(datagram))
        {
            if (rtcp.PacketType == RtcpPacketType.PayloadFeedback
                && rtcp.Count is RtcpPacketType.FmtPictureLossIndication or RtcpPacketType.FmtFullIntraRequest)
            {
                _keyFrameWanted = true;
            }
        }
    }

    private sealed class SendStream(uint ssrc, string? rid)
    {
        public uint Ssrc { get; } = ssrc;

        public byte[]? Rid { get; } = rid is null ? null : System.Text.Encoding.ASCII.GetBytes(rid);

        public ushort Sequence { get; set; } = (ushort)Random.Shared.Next(0, 0x10000);

        public uint Timestamp { get; set; } = (uint)Random.Shared.Next();

        /// <summary>The next payload trailer counter: packets sent so far (written by the pacer, read by the sampler).</summary>
        public uint Counter;
    }

    private sealed class ReceiveStream(uint ssrc, uint firstCounter)
    {
        public readonly uint Ssrc = ssrc;
        public readonly long FirstCounter = firstCounter;
        public long MaxCounter = firstCounter;
        public long Received;
    }

    private sealed class Listener(MediaParticipant owner, bool publish) : IWebRtcClientTransportListener
    {
        public void OnRtp(WebRtcClientTransport transport, Span<byte> packet)
        {
            if (!publish)
            {
                owner.OnRtp(packet);
            }
        }

        public void OnRtcp(WebRtcClientTransport transport, Span<byte> packet)
        {
            if (publish)
            {
                owner.OnPublishRtcp(packet);
            }
            else
            {
                owner._reports.OnRtcp(packet, Stopwatch.GetTimestamp());
            }
        }

        public void OnClosed(WebRtcClientTransport transport)
        {
        }
    }
}
