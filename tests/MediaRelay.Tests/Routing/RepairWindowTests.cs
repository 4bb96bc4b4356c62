using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// How long a video producer keeps its packets for repairs: from the longest round trip among its subscribers, as their
/// Receiver Reports give it, set on its buffers by housekeeping.
/// </summary>
public sealed class RepairWindowTests : IDisposable
{
    private const uint Ssrc = 0x2222_0002;
    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate();
    private static readonly RtpCodec Vp8 = new(MediaKind.Video, "VP8", 96, 90000, 0);
    private static readonly RtpCodec Opus = new(MediaKind.Audio, "opus", 111, 48000, 2);
    private static readonly long Ms = Stopwatch.Frequency / 1000;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
    private readonly WebRtcTransport _transport;
    private readonly RoutingClock _clock;
    private ushort _sequence = 1000;

    public RepairWindowTests()
    {
        _transport = new WebRtcTransport("publisher", new TransportDirectory(), Certificate, TimeProvider.System);
        _clock = new RoutingClock(_time);
    }

    public void Dispose() => _transport.Dispose();

    [Fact]
    public void TheWindowFollowsTheSubscriberWithTheLongestRoundTrip()
    {
        var producer = NewProducer(Vp8);
        Assert.Equal(450 * Ms, producer.RepairWindow); // nobody reported yet: 100 ms assumed

        var near = AddConsumer(producer, "near");
        var far = AddConsumer(producer, "far");
        SetRoundTrip(near, TimeSpan.FromMilliseconds(10));
        SetRoundTrip(far, TimeSpan.FromMilliseconds(20));
        producer.UpdateRepairWindow();
        Assert.Equal(250 * Ms, producer.RepairWindow);

        SetRoundTrip(far, TimeSpan.FromMilliseconds(200));
        producer.UpdateRepairWindow();
        Assert.InRange(producer.RepairWindow, 748 * Ms, 752 * Ms); // 150 ms + 3 × 200 ms

        producer.RemoveConsumer(far);
        producer.UpdateRepairWindow();
        Assert.Equal(250 * Ms, producer.RepairWindow);

        producer.RemoveConsumer(near);
        producer.UpdateRepairWindow();
        Assert.Equal(450 * Ms, producer.RepairWindow);
    }

    [Fact]
    public void TheBuffersKeepPacketsForTheWindowAndNoLonger()
    {
        var producer = NewProducer(Vp8);
        var consumer = AddConsumer(producer, "subscriber");
        SetRoundTrip(consumer, TimeSpan.FromMilliseconds(5));
        producer.UpdateRepairWindow();

        var first = Send(producer);
        var copy = new byte[1500];
        _time.Advance(TimeSpan.FromMilliseconds(240));
        Assert.True(producer.CopyForRetransmission(0, first, copy) > 0);
        _time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, producer.CopyForRetransmission(0, first, copy)); // 260 ms: past the quarter of a second

        // A subscriber far away: the buffer that already exists keeps its packets longer from now on.
        var second = Send(producer);
        SetRoundTrip(consumer, TimeSpan.FromMilliseconds(250));
        producer.UpdateRepairWindow();
        _time.Advance(TimeSpan.FromMilliseconds(880));
        Assert.True(producer.CopyForRetransmission(0, second, copy) > 0);
        _time.Advance(TimeSpan.FromMilliseconds(40));
        Assert.Equal(0, producer.CopyForRetransmission(0, second, copy));
    }

    [Fact]
    public void AudioKeepsNothingForRepairs()
    {
        var producer = NewProducer(Opus);
        var window = producer.RepairWindow;
        SetRoundTrip(AddConsumer(producer, "subscriber", Opus), TimeSpan.FromMilliseconds(300));
        producer.UpdateRepairWindow();
        Assert.Equal(window, producer.RepairWindow);
        var sequence = Send(producer, Opus);
        Assert.Equal(0, producer.CopyForRetransmission(0, sequence, new byte[1500]));
    }

    private Producer NewProducer(RtpCodec codec)
    {
        var parameters = new ProducerParameters("0", codec.Kind, codec, new HeaderExtensionIds(), [new ProducerEncoding(null, Ssrc, null)], "s", "t");
        return new Producer("p", parameters, _transport, MediaGate.AlwaysOpen, new RetransmissionBlocks(), _clock);
    }

    private Consumer AddConsumer(Producer producer, string id, RtpCodec? codec = null)
    {
        codec ??= Vp8;
        var parameters = new ConsumerParameters("0", codec.Kind, codec, new HeaderExtensionIds(), 0x3333_0000 + (uint)id.Length, null, "c", "s", "t");
        var consumer = new Consumer(id, parameters, producer, new NullSubscriber(), MediaGate.AlwaysOpen, _clock);
        producer.AddConsumer(consumer);
        return consumer;
    }

    /// <summary>Reports answering a Sender Report sent <paramref name="roundTrip"/> ago, until the smoothed value settles.</summary>
    private void SetRoundTrip(Consumer consumer, TimeSpan roundTrip)
    {
        var arrival = _time.GetUtcNow();
        var lastSenderReport = NtpTime.Middle(NtpTime.From(arrival - roundTrip));
        for (var i = 0; i < 40; i++)
        {
            consumer.OnReceiverReport(new ReportBlock(0x3333_0000, 0, 0, 1, 0, lastSenderReport, 0), arrival);
        }

        Assert.InRange(consumer.SubscriberRoundTrip, roundTrip - TimeSpan.FromMilliseconds(1), roundTrip + TimeSpan.FromMilliseconds(1));
    }

    private ushort Send(Producer producer, RtpCodec? codec = null)
    {
        codec ??= Vp8;
        var sequence = _sequence++;
        var buffer = new byte[200];
        var length = new RtpHeaderWriter(buffer, (byte)codec.PayloadType, sequence, 3000u * sequence, Ssrc, marker: true).Complete();
        buffer[length] = 0x10; // VP8 payload descriptor (RFC 7741 §4.2): start of partition 0
        buffer[length + 1] = 0x01; // an interframe
        var packet = buffer.AsSpan(0, length + 100);
        Assert.True(RtpHeader.TryRead(packet, out var header));
        producer.OnRtp(packet, header, 0);
        return sequence;
    }

    private sealed class NullSubscriber : SubscriberTransport
    {
        private ushort _transportSequence;

        public override bool IsConnected => true;

        public override bool SendRtp(Span<byte> buffer, int length) => true;

        public override ushort NextTransportSequence() => ++_transportSequence;
    }
}
