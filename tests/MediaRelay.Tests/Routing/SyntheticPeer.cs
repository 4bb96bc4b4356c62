using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Sdp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// A participant without a browser: it negotiates with <see cref="ClientNegotiation"/>, publishes Opus-like audio
/// and VP8 video (one packet per frame, real payload descriptors, a keyframe whenever the relay asks with a PLI or
/// FIR) over one client transport, and subscribes over a second one, recording every packet it receives per SSRC,
/// every Sender Report, and every keyframe request the relay sends its publish connection.
/// </summary>
internal sealed class SyntheticPeer : IDisposable
{
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);

    public const uint AudioTicksPerPacket = 960;   // 20 ms at 48 kHz (RFC 7587 §4.1: the RTP clock is 48 kHz)
    public const uint VideoTicksPerFrame = 3000;   // 30 fps at 90 kHz

    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate("synthetic-peer");

    private readonly IceTransportProtocol _protocol;
    private readonly IceCredentials _publishIce = IceCredentials.Create();
    private IceCredentials _subscribeIce = IceCredentials.Create();
    private readonly Recorder _publishRecorder;
    private readonly Recorder _subscribeRecorder;
    private readonly byte[] _sendBuffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
    private readonly Lock _sendLock = new();
    private readonly Random _random = new(7);
    private WebRtcClientTransport? _publish;
    private WebRtcClientTransport? _subscribe;
    private readonly List<WebRtcClientTransport> _lostSubscribe = [];
    private CancellationTokenSource? _pump;
    private Thread? _pumpThread;
    private volatile bool _keyFrameRequested = true;
    private ushort _audioSequence;
    private ushort _videoSequence;
    private uint _audioTimestamp;
    private uint _videoTimestamp;
    private ushort _pictureId;
    private readonly ushort[] _layerSequence = new ushort[3];
    private readonly uint[] _layerTimestamp = new uint[3];
    private readonly ushort[] _layerPictureId = new ushort[3];
    private readonly bool[] _layerKeyFrame = new bool[3];
    private readonly ConcurrentDictionary<ushort, byte[]> _sentVideo = new();
    private readonly byte[] _rtxBuffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
    private ushort _rtxSequence = 100;
    private int _feedbackPackets;
    private int _rtpPacketsSent;

    private readonly RouterPeer? _peer;

    public SyntheticPeer(string id, RouterPeer? peer, IceTransportProtocol protocol, bool simulcast = false, bool h264 = false)
    {
        IsH264 = h264;
        Id = id;
        _peer = peer;
        _protocol = protocol;
        IsSimulcast = simulcast;
        for (var i = 0; i < LayerSsrcs.Length; i++)
        {
            LayerSsrcs[i] = ClientNegotiation.RandomSsrc();
            _layerSequence[i] = (ushort)_random.Next(0, 0x10000);
            _layerTimestamp[i] = (uint)_random.Next();
            _layerPictureId[i] = (ushort)_random.Next(0, 0x8000);
            _layerKeyFrame[i] = true;
            LayerEnabled[i] = true;
        }

        _publishRecorder = new Recorder(this, publish: true);
        _subscribeRecorder = new Recorder(this, publish: false);
        AudioSsrc = ClientNegotiation.RandomSsrc();
        VideoSsrc = ClientNegotiation.RandomSsrc();
        VideoRtxSsrc = ClientNegotiation.RandomSsrc();
        _audioSequence = (ushort)_random.Next(0, 0x10000);
        _videoSequence = (ushort)_random.Next(0, 0x10000);
        _audioTimestamp = (uint)_random.Next();
        _videoTimestamp = (uint)_random.Next();
        _pictureId = (ushort)_random.Next(0, 0x8000);
    }

    /// <summary>The relay's side of this participant (none for a connection test).</summary>
    public RouterPeer Peer => _peer ?? throw new InvalidOperationException("This peer is not in a router.");

    public string Id { get; }

    /// <summary>The last subscribe offer the relay made us.</summary>
    public SessionDescription? LastSubscribeOffer { get; private set; }

    public uint AudioSsrc { get; }

    public uint VideoSsrc { get; }

    public uint VideoRtxSsrc { get; }

    public IReadOnlyList<ClientTrack> Tracks => IsSimulcast
        ? [ClientTrack.Audio("0", AudioSsrc), ClientTrack.SimulcastVideo("1")]
        : [ClientTrack.Audio("0", AudioSsrc), ClientTrack.Video("1", VideoSsrc, VideoRtxSsrc)];

    /// <summary>Publishes H.264 (packetization-mode 1, constrained baseline) instead of VP8: an IDR NAL unit as keyframe, non-IDR slices otherwise.</summary>
    public bool IsH264 { get; }

    /// <summary>Publishes three VP8 layers by rid (q, h, f) on <see cref="LayerSsrcs"/> instead of one stream.</summary>
    public bool IsSimulcast { get; }

    /// <summary>The SSRCs of the simulcast layers q, h, f (learnt by the relay from MID and RID, like Chrome's).</summary>
    public uint[] LayerSsrcs { get; } = new uint[3];

    /// <summary>Payload bytes per frame of each layer, so their bitrates differ like real layers' (about 40, 110, 240 kbit/s).</summary>
    public static readonly int[] LayerPayloadBytes = [150, 450, 1000];

    /// <summary>The picture size each simulcast layer's keyframes announce (q, h, f of a 640×480 camera).</summary>
    public static readonly (int Width, int Height)[] LayerSizes = [(160, 120), (320, 240), (640, 480)];

    /// <summary>Which layers are sent (Chrome switches off those its estimate cannot carry).</summary>
    public bool[] LayerEnabled { get; } = new bool[3];

    /// <summary>Video sequence numbers not to send (a lossy uplink); they are still kept for RTX.</summary>
    public Func<ushort, bool>? DropVideo { get; set; }

    /// <summary>Answers the relay's NACKs on the publish connection with RTX (RFC 4588) on <see cref="VideoRtxSsrc"/>.</summary>
    public bool AnswerNacks { get; set; }

    /// <summary>Sequence numbers the relay NACKed on our publish connection.</summary>
    public ConcurrentQueue<ushort> Nacked { get; } = new();

    /// <summary>Transport-wide sequence numbers the relay's feedback reported, true when received (draft-holmer §3.1).</summary>
    public ConcurrentDictionary<ushort, bool> FeedbackStatuses { get; } = new();

    public int FeedbackPackets => Volatile.Read(ref _feedbackPackets);

    /// <summary>Report blocks of the relay's Receiver Reports on our publish connection.</summary>
    public ConcurrentQueue<ReportBlock> ReceiverReportBlocks { get; } = new();

    /// <summary>Audio level to put into our audio packets (RFC 6464, 0 loudest .. 127 silent).</summary>
    public int AudioLevelToSend { get; set; } = 40;

    /// <summary>
    /// Reset to stall the subscribe connection: its receive thread stops in our listener, so this peer stops reading its
    /// socket (a subscriber whose browser hangs). Set again to read on.
    /// </summary>
    public ManualResetEventSlim SubscribeReading { get; } = new(initialState: true);

    public WebRtcClientTransport? PublishTransport => _publish;

    public WebRtcClientTransport? SubscribeTransport => _subscribe;

    /// <summary>What the last subscribe offer said we receive (relay SSRCs, payload types, extension ids per mid).</summary>
    public ClientSubscribeAnswer? Subscription { get; private set; }

    /// <summary>Every RTP packet received on the subscribe connection (or the connection test's echo), by the relay's SSRC.</summary>
    public ConcurrentDictionary<uint, ReceivedStream> Received { get; } = new();

    /// <summary>Payloads we sent, by (our SSRC, our sequence number), to check the relay forwards them unchanged.</summary>
    public ConcurrentDictionary<(uint Ssrc, ushort Sequence), byte[]> SentPayloads { get; } = new();

    /// <summary>Media SSRCs named by PLIs and FIRs the relay sent on our publish connection, with their arrival time.</summary>
    public ConcurrentQueue<(uint MediaSsrc, long Timestamp)> KeyFrameRequests { get; } = new();

    /// <summary>Sender Reports received on the subscribe connection, by SSRC.</summary>
    public ConcurrentDictionary<uint, int> SenderReports { get; } = new();

    public int ReceivedPackets => Received.Values.Sum(s => s.Count);

    public int AudioPacketsSent { get; private set; }

    public int VideoFramesSent { get; private set; }

    /// <summary>RTP packets that went out on the publish connection (not those <see cref="DropVideo"/> held back).</summary>
    public int RtpPacketsSent => Volatile.Read(ref _rtpPacketsSent);

    /// <summary>Offers audio and video, connects the publish transport and waits until the relay's end has its keys too.</summary>
    public async Task PublishAsync()
    {
        var local = ClientNegotiation.LocalParameters(_publishIce, Certificate.Fingerprint);
        var offer = ClientNegotiation.CreatePublishOffer(Tracks, local, "cname-" + Id, "stream-" + Id, h264: IsH264);
        var result = Peer.Publish(offer.ToString());
        Assert.True(result.Succeeded, result.Error);
        Assert.True(ClientNegotiation.TryReadPublishAnswer(result.Sdp!, out var answer, out var error), error);
        Assert.Equal(["0", "1"], answer!.AcceptedMids);
        _publish = answer.Relay.CreateTransport(_publishIce, Certificate, _protocol);
        _publish.SetListener(_publishRecorder);
        await _publish.ConnectAsync().WaitAsync(StepTimeout);
        await RelayHarness.WaitUntilAsync(() => Peer.IsPublishConnected, StepTimeout, $"{Id}'s publish connection on the relay");
    }

    /// <summary>
    /// A new offer for the publish connection that keeps its ICE credentials (a renegotiation, as a browser makes when a
    /// track is added or removed): the usual tracks plus <paramref name="extra"/>, each extra one in a stream of its own
    /// (a shared screen is its own MediaStream in the browser).
    /// </summary>
    public string RepublishOffer(params ClientTrack[] extra)
    {
        var local = ClientNegotiation.LocalParameters(_publishIce, Certificate.Fingerprint);
        var sdp = ClientNegotiation.CreatePublishOffer([.. Tracks, .. extra], local, "cname-" + Id, "stream-" + Id, h264: IsH264).ToString();
        foreach (var track in extra)
        {
            sdp = sdp.Replace($"a=msid:stream-{Id} {track.TrackId}", $"a=msid:other-{Id}-{track.Mid} {track.TrackId}", StringComparison.Ordinal);
        }

        return sdp;
    }

    /// <summary>
    /// Takes the relay's current subscribe offer and answers it; the first time, connects the subscribe transport.
    /// Returns the answer (what we now receive).
    /// </summary>
    public Task<ClientSubscribeAnswer> SubscribeAsync() => SubscribeAsync(newConnection: false);

    /// <summary>
    /// What a page does when its receive connection failed: drops it (without a word to the relay), asks for an offer on a
    /// new connection and answers it with new ICE credentials and a new DTLS handshake.
    /// </summary>
    public Task<ClientSubscribeAnswer> SubscribeOnNewConnectionAsync() => SubscribeAsync(newConnection: true);

    /// <summary>Closes our side of the subscribe connection (DTLS close_notify), as a browser closing its peer connection.</summary>
    public void CloseSubscribeConnection()
    {
        _subscribe?.Dispose();
        _subscribe = null;
        _subscribeIce = IceCredentials.Create();
    }

    private async Task<ClientSubscribeAnswer> SubscribeAsync(bool newConnection)
    {
        if (newConnection && _subscribe is { } lost)
        {
            _subscribe = null;
            _subscribeIce = IceCredentials.Create();
            _lostSubscribe.Add(lost);
        }

        var offer = newConnection ? Peer.CreateSubscribeOfferOnNewConnection() : Peer.CreateSubscribeOffer();
        Assert.True(offer.Succeeded, offer.Error);
        Assert.True(SessionDescription.TryParse(offer.Sdp, out var parsed));
        LastSubscribeOffer = parsed;
        var local = ClientNegotiation.LocalParameters(_subscribeIce, Certificate.Fingerprint);
        Assert.True(ClientNegotiation.TryCreateSubscribeAnswer(offer.Sdp!, local, out var answer, out var error), error);
        var applied = Peer.ApplySubscribeAnswer(answer!.Answer.ToString());
        Assert.True(applied.Succeeded, applied.Error);
        Subscription = answer;
        if (_subscribe is null && answer.Relay is not null)
        {
            _subscribe = answer.Relay.CreateTransport(_subscribeIce, Certificate, _protocol);
            _subscribe.SetListener(_subscribeRecorder);
            await _subscribe.ConnectAsync().WaitAsync(StepTimeout);
            await RelayHarness.WaitUntilAsync(() => Peer.IsSubscribeConnected, StepTimeout, $"{Id}'s subscribe connection on the relay");
        }

        return answer;
    }

    /// <summary>
    /// Runs the connection test (<c>/check</c>) from this peer: a sendrecv offer, the relay's echo answer, one transport.
    /// What the relay returns is recorded in <see cref="Received"/>.
    /// </summary>
    public async Task<ClientPublishAnswer> StartConnectionTestAsync(MediaRelayService relay)
    {
        var local = ClientNegotiation.LocalParameters(_publishIce, Certificate.Fingerprint);
        var offer = ClientNegotiation.CreatePublishOffer(Tracks, local, "cname-" + Id, "stream-" + Id, SdpDirection.SendRecv);
        var test = relay.StartConnectionTest(offer.ToString(), TimeSpan.FromSeconds(20), out var failure);
        Assert.True(test is not null, failure);
        Assert.True(ClientNegotiation.TryReadPublishAnswer(test!.Answer, out var answer, out var error), error);
        _publish = answer!.Relay.CreateTransport(_publishIce, Certificate, _protocol);
        _publish.SetListener(_publishRecorder);
        await _publish.ConnectAsync().WaitAsync(StepTimeout);
        await RelayHarness.WaitUntilAsync(() => test.IsConnected, StepTimeout, "the connection test's transport on the relay");
        return answer;
    }

    /// <summary>Sends 20 ms audio packets and 30 fps video frames from a thread of its own until <see cref="StopSending"/>.</summary>
    public void StartSending()
    {
        _pump = new CancellationTokenSource();
        var token = _pump.Token;
        _pumpThread = new Thread(() => Pump(token)) { IsBackground = true, Name = "synthetic-peer-" + Id };
        _pumpThread.Start();
    }

    public void StopSending()
    {
        _pump?.Cancel();
        _pumpThread?.Join(StepTimeout);
        _pumpThread = null;
        _pump?.Dispose();
        _pump = null;
    }

    /// <summary>Sends the next audio packet (<see cref="WriteAudio"/>) on the publish connection.</summary>
    public bool SendAudio()
    {
        lock (_sendLock)
        {
            var length = WriteAudio(_sendBuffer);
            return Sent(_publish?.SendRtp(_sendBuffer, length) == true);
        }
    }

    /// <summary>Sends the next video frame (<see cref="WriteVideoFrame"/>, or one packet per enabled layer) on the publish connection.</summary>
    public bool SendVideoFrame()
    {
        lock (_sendLock)
        {
            if (IsSimulcast)
            {
                var sent = false;
                for (var layer = 0; layer < LayerSsrcs.Length; layer++)
                {
                    if (LayerEnabled[layer])
                    {
                        var written = WriteLayerFrame(_sendBuffer, layer);
                        sent |= Sent(_publish?.SendRtp(_sendBuffer, written) == true);
                    }
                }

                return sent;
            }

            var length = WriteVideoFrame(_sendBuffer);
            var sequence = BinaryPrimitives.ReadUInt16BigEndian(_sendBuffer.AsSpan(2));
            _sentVideo[sequence] = _sendBuffer.AsSpan(0, length).ToArray();
            if (DropVideo?.Invoke(sequence) == true)
            {
                return true;
            }

            return Sent(_publish?.SendRtp(_sendBuffer, length) == true);
        }
    }

    /// <summary>
    /// Writes the next frame of simulcast layer <paramref name="layer"/> as one VP8 packet: its own SSRC, sequence, timestamp
    /// and PictureID spaces, the rid and MID extensions, a keyframe when the relay asked for one on that SSRC.
    /// </summary>
    public int WriteLayerFrame(Span<byte> destination, int layer)
    {
        var keyFrame = _layerKeyFrame[layer];
        _layerKeyFrame[layer] = false;
        var sequence = _layerSequence[layer]++;
        var timestamp = _layerTimestamp[layer];
        _layerTimestamp[layer] += VideoTicksPerFrame;
        var pictureId = _layerPictureId[layer];
        _layerPictureId[layer] = (ushort)((pictureId + 1) & 0x7FFF);
        var ids = ClientNegotiation.VideoExtensions;
        var writer = new RtpHeaderWriter(destination, ClientNegotiation.Vp8PayloadType, sequence, timestamp, LayerSsrcs[layer], marker: true);
        AddCommonExtensions(ref writer, ids, "1"u8, sequence);
        writer.AddOneByteExtension((byte)ids.RtpStreamId, layer == 0 ? "q"u8 : layer == 1 ? "h"u8 : "f"u8);
        var header = writer.Complete();
        var payload = destination.Slice(header, LayerPayloadBytes[layer] + (keyFrame ? 300 : 0));
        _random.NextBytes(payload);
        payload[0] = 0x90; // X=1, S=1, PID=0
        payload[1] = 0x80; // I=1
        payload[2] = (byte)(0x80 | (pictureId >> 8));
        payload[3] = (byte)pictureId;
        payload[4] = (byte)(0x10 | (keyFrame ? 0 : 1));
        if (keyFrame)
        {
            // RFC 6386 §9.1: the start code and the picture size, a quarter, a half and the whole of 640×480.
            payload[7] = 0x9D;
            payload[8] = 0x01;
            payload[9] = 0x2A;
            BinaryPrimitives.WriteUInt16LittleEndian(payload[10..], (ushort)LayerSizes[layer].Width);
            BinaryPrimitives.WriteUInt16LittleEndian(payload[12..], (ushort)LayerSizes[layer].Height);
        }

        Sign(payload, LayerSsrcs[layer], sequence);
        SentPayloads[(LayerSsrcs[layer], sequence)] = payload.ToArray();
        VideoFramesSent++;
        return header + payload.Length;
    }

    /// <summary>
    /// Writes our next Opus packet (a TOC byte and a frame) with audio level, abs-send-time, transport-wide sequence and
    /// MID into <paramref name="destination"/>; returns its length. Not thread-safe: one sender at a time.
    /// </summary>
    public int WriteAudio(Span<byte> destination)
    {
        var sequence = _audioSequence++;
        var timestamp = _audioTimestamp;
        _audioTimestamp += AudioTicksPerPacket;
        var ids = ClientNegotiation.AudioExtensions;
        var writer = new RtpHeaderWriter(destination, ClientNegotiation.OpusPayloadType, sequence, timestamp, AudioSsrc, marker: false);
        writer.AddOneByteExtension((byte)ids.AudioLevel, [(byte)(0x80 | AudioLevelToSend)]);
        AddCommonExtensions(ref writer, ids, "0"u8, sequence);
        var header = writer.Complete();
        var payload = destination.Slice(header, 60 + _random.Next(60));
        _random.NextBytes(payload);
        payload[0] = 0x78; // RFC 6716 §3.1 TOC: config 15 (hybrid fullband, 20 ms), mono, one frame
        Sign(payload, AudioSsrc, sequence);
        SentPayloads[(AudioSsrc, sequence)] = payload.ToArray();
        AudioPacketsSent++;
        return header + payload.Length;
    }

    /// <summary>
    /// Writes our next VP8 frame as one packet (marker set): the RFC 7741 §4.2 descriptor with S=1, PID 0 and a 15-bit
    /// PictureID, then the VP8 frame tag (RFC 6386 §9.1), a keyframe's with its start code and size when the relay asked
    /// for one. Returns its length.
    /// </summary>
    public int WriteVideoFrame(Span<byte> destination)
    {
        var keyFrame = _keyFrameRequested;
        _keyFrameRequested = false;
        var sequence = _videoSequence++;
        var timestamp = _videoTimestamp;
        _videoTimestamp += VideoTicksPerFrame;
        var pictureId = _pictureId;
        _pictureId = (ushort)((_pictureId + 1) & 0x7FFF);
        var writer = new RtpHeaderWriter(destination, (byte)(IsH264 ? ClientNegotiation.H264PayloadType : ClientNegotiation.Vp8PayloadType), sequence, timestamp, VideoSsrc, marker: true);
        AddCommonExtensions(ref writer, ClientNegotiation.VideoExtensions, "1"u8, sequence);
        var header = writer.Complete();
        if (IsH264)
        {
            // RFC 6184 §5.6: a single NAL unit packet; type 5 (IDR slice) for a keyframe, 1 (non-IDR slice) otherwise.
            var nal = destination.Slice(header, keyFrame ? 900 : 250);
            _random.NextBytes(nal);
            nal[0] = keyFrame ? (byte)0x65 : (byte)0x41;
            Sign(nal, VideoSsrc, sequence);
            SentPayloads[(VideoSsrc, sequence)] = nal.ToArray();
            VideoFramesSent++;
            return header + nal.Length;
        }

        var payload = destination.Slice(header, keyFrame ? 900 + _random.Next(200) : 200 + _random.Next(200));
        _random.NextBytes(payload);
        payload[0] = 0x90; // X=1, S=1, PID=0
        payload[1] = 0x80; // I=1: PictureID present
        payload[2] = (byte)(0x80 | (pictureId >> 8)); // M=1: 15-bit PictureID
        payload[3] = (byte)pictureId;
        var firstPartition = payload.Length - 14;
        payload[4] = (byte)(((firstPartition << 5) & 0xE0) | 0x10 | (keyFrame ? 0 : 1)); // show_frame=1, P=0 on a keyframe
        payload[5] = (byte)(firstPartition >> 3);
        payload[6] = (byte)(firstPartition >> 11);
        if (keyFrame)
        {
            payload[7] = 0x9D; // RFC 6386 §9.1: start code, then 640x360
            payload[8] = 0x01;
            payload[9] = 0x2A;
            BinaryPrimitives.WriteUInt16LittleEndian(payload[10..], 640);
            BinaryPrimitives.WriteUInt16LittleEndian(payload[12..], 360);
        }

        Sign(payload, VideoSsrc, sequence);
        SentPayloads[(VideoSsrc, sequence)] = payload.ToArray();
        VideoFramesSent++;
        return header + payload.Length;
    }

    /// <summary>Sends an RTCP packet on the subscribe connection (e.g. a PLI for a relay SSRC).</summary>
    public bool SendSubscribeRtcp(ReadOnlySpan<byte> rtcp)
    {
        var buffer = new byte[rtcp.Length + WebRtcTransport.MaxProtectionOverhead];
        rtcp.CopyTo(buffer);
        return _subscribe?.SendRtcp(buffer, rtcp.Length) == true;
    }

    /// <summary>The stream received on a relay SSRC, or an empty one.</summary>
    public ReceivedStream StreamOf(uint relaySsrc) => Received.TryGetValue(relaySsrc, out var stream) ? stream : ReceivedStream.Empty;

    /// <summary>Our original (SSRC, sequence) a received payload was signed with by its publisher.</summary>
    public static (uint Ssrc, ushort Sequence) SignatureOf(ReadOnlySpan<byte> payload) =>
        (BinaryPrimitives.ReadUInt32BigEndian(payload[^6..]), BinaryPrimitives.ReadUInt16BigEndian(payload[^2..]));

    public void Dispose()
    {
        SubscribeReading.Set();
        StopSending();
        _publish?.Dispose();
        _subscribe?.Dispose();
        foreach (var lost in _lostSubscribe)
        {
            lost.Dispose();
        }
    }

    private bool Sent(bool sent)
    {
        if (sent)
        {
            Interlocked.Increment(ref _rtpPacketsSent);
        }

        return sent;
    }

    /// <summary>The last six payload bytes carry the publisher's SSRC and sequence, so a receiver can find the original.</summary>
    private static void Sign(Span<byte> payload, uint ssrc, ushort sequence)
    {
        BinaryPrimitives.WriteUInt32BigEndian(payload[^6..], ssrc);
        BinaryPrimitives.WriteUInt16BigEndian(payload[^2..], sequence);
    }

    private static void AddCommonExtensions(ref RtpHeaderWriter writer, HeaderExtensionIds ids, ReadOnlySpan<byte> mid, ushort sequence)
    {
        Span<byte> value = stackalloc byte[3];
        value[0] = 0x12;
        value[1] = 0x34;
        value[2] = 0x56;
        writer.AddOneByteExtension((byte)ids.AbsSendTime, value);
        BinaryPrimitives.WriteUInt16BigEndian(value, sequence);
        writer.AddOneByteExtension((byte)ids.TransportWideCc, value[..2]);
        writer.AddOneByteExtension((byte)ids.Mid, mid);
    }

    private void Pump(CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        var nextAudio = TimeSpan.Zero;
        var nextVideo = TimeSpan.Zero;
        while (!token.IsCancellationRequested)
        {
            var now = clock.Elapsed;
            if (now >= nextAudio)
            {
                SendAudio();
                nextAudio += TimeSpan.FromMilliseconds(20);
            }

            if (now >= nextVideo)
            {
                SendVideoFrame();
                nextVideo += TimeSpan.FromMilliseconds(33);
            }

            token.WaitHandle.WaitOne(5);
        }
    }

    private void OnRtcp(ReadOnlySpan<byte> datagram, bool publish)
    {
        foreach (var rtcp in new RtcpPacketEnumerator(datagram))
        {
            if (publish && rtcp.PacketType == RtcpPacketType.TransportFeedback)
            {
                if (rtcp.Count == RtcpPacketType.FmtTransportWideFeedback && TransportWideFeedback.TryRead(rtcp.Packet, out var feedback))
                {
                    Interlocked.Increment(ref _feedbackPackets);
                    foreach (var status in feedback.Statuses)
                    {
                        FeedbackStatuses.AddOrUpdate(status.SequenceNumber, status.Received, (_, was) => was || status.Received);
                    }
                }
                else if (rtcp.Count == RtcpPacketType.FmtGenericNack && GenericNack.TryRead(rtcp.Packet, out var nack) && nack.MediaSsrc == VideoSsrc)
                {
                    foreach (var sequence in nack.LostSequenceNumbers)
                    {
                        Nacked.Enqueue(sequence);
                        if (AnswerNacks)
                        {
                            SendRtx(sequence);
                        }
                    }
                }
            }
            else if (publish && rtcp.PacketType == RtcpPacketType.ReceiverReport && ReceiverReport.TryRead(rtcp.Packet, out var rr))
            {
                for (var i = 0; i < rr.ReportCount; i++)
                {
                    ReceiverReportBlocks.Enqueue(rr.GetReportBlock(i));
                }
            }
            else if (publish && rtcp.PacketType == RtcpPacketType.PayloadFeedback)
            {
                if (rtcp.Count == RtcpPacketType.FmtPictureLossIndication && PictureLossIndication.TryRead(rtcp.Packet, out var pli))
                {
                    KeyFrameRequests.Enqueue((pli.MediaSsrc, Stopwatch.GetTimestamp()));
                    _keyFrameRequested |= pli.MediaSsrc == VideoSsrc;
                    for (var layer = 0; layer < LayerSsrcs.Length; layer++)
                    {
                        _layerKeyFrame[layer] |= pli.MediaSsrc == LayerSsrcs[layer];
                    }
                }
                else if (rtcp.Count == RtcpPacketType.FmtFullIntraRequest && FullIntraRequest.TryRead(rtcp.Packet, out var fir))
                {
                    KeyFrameRequests.Enqueue((fir.GetSsrc(0), Stopwatch.GetTimestamp()));
                    _keyFrameRequested |= fir.GetSsrc(0) == VideoSsrc;
                }
            }
            else if (rtcp.PacketType == RtcpPacketType.SenderReport && SenderReport.TryRead(rtcp.Packet, out var sr))
            {
                SenderReports.AddOrUpdate(sr.Ssrc, 1, (_, count) => count + 1);
            }
        }
    }

    /// <summary>RFC 4588 §4: resends a video packet on the RTX SSRC with the RTX payload type, the original sequence number first.</summary>
    private void SendRtx(ushort sequence)
    {
        if (!_sentVideo.TryGetValue(sequence, out var original) || !RtpHeader.TryRead(original, out var header))
        {
            return;
        }

        lock (_sendLock)
        {
            var rtxSequence = _rtxSequence++;
            var writer = new RtpHeaderWriter(_rtxBuffer, ClientNegotiation.Vp8RtxPayloadType, rtxSequence, header.Timestamp, VideoRtxSsrc, header.Marker);
            var ids = ClientNegotiation.VideoExtensions;
            Span<byte> transportSequence = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(transportSequence, (ushort)(0x8000 + rtxSequence));
            writer.AddOneByteExtension((byte)ids.TransportWideCc, transportSequence);
            var length = writer.Complete();
            BinaryPrimitives.WriteUInt16BigEndian(_rtxBuffer.AsSpan(length), sequence);
            header.Payload.CopyTo(_rtxBuffer.AsSpan(length + 2));
            _publish?.SendRtp(_rtxBuffer, length + 2 + header.Payload.Length);
        }
    }

    private void OnRtp(ReadOnlySpan<byte> packet)
    {
        if (RtpHeader.TryRead(packet, out var header))
        {
            Received.GetOrAdd(header.Ssrc, _ => new ReceivedStream()).Add(header);
        }
    }

    private sealed class Recorder(SyntheticPeer owner, bool publish) : IWebRtcClientTransportListener
    {
        public void OnRtp(WebRtcClientTransport transport, Span<byte> packet)
        {
            WaitWhileStalled();
            owner.OnRtp(packet);
        }

        public void OnRtcp(WebRtcClientTransport transport, Span<byte> packet)
        {
            WaitWhileStalled();
            owner.OnRtcp(packet, publish);
        }

        private void WaitWhileStalled()
        {
            if (!publish)
            {
                owner.SubscribeReading.Wait();
            }
        }

        public void OnClosed(WebRtcClientTransport transport)
        {
        }
    }
}

/// <summary>One received RTP packet as the subscriber saw it.</summary>
internal sealed record ReceivedPacket(
    ushort Sequence,
    uint Timestamp,
    byte PayloadType,
    bool Marker,
    IReadOnlyDictionary<byte, byte[]> Extensions,
    byte[] Payload,
    long ArrivalTimestamp)
{
    public string? ExtensionText(int id) => Extensions.TryGetValue((byte)id, out var value) ? Encoding.ASCII.GetString(value) : null;

    public bool IsVp8KeyFrame => Vp8PayloadDescriptor.IsKeyframePayload(Payload);
}

/// <summary>The packets of one SSRC, in arrival order.</summary>
internal sealed class ReceivedStream
{
    public static readonly ReceivedStream Empty = new();

    private readonly List<ReceivedPacket> _packets = [];

    public int Count
    {
        get
        {
            lock (_packets)
            {
                return _packets.Count;
            }
        }
    }

    public IReadOnlyList<ReceivedPacket> Snapshot()
    {
        lock (_packets)
        {
            return [.. _packets];
        }
    }

    public void Add(in RtpHeader header)
    {
        var extensions = new Dictionary<byte, byte[]>();
        foreach (var element in header.Extensions)
        {
            extensions[element.Id] = element.Value.ToArray();
        }

        var packet = new ReceivedPacket(header.SequenceNumber, header.Timestamp, header.PayloadType, header.Marker, extensions, header.Payload.ToArray(), Stopwatch.GetTimestamp());
        lock (_packets)
        {
            _packets.Add(packet);
        }
    }
}
