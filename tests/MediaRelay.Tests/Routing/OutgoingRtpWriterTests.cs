using System.Buffers.Binary;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>A publisher's packet as one subscriber sees it: its header fields, its extension ids, ours for this hop.</summary>
public sealed class OutgoingRtpWriterTests
{
    private static readonly HeaderExtensionIds Publisher = new() { Mid = 4, RtpStreamId = 10, AbsSendTime = 2, TransportWideCc = 3, AudioLevel = 1 };
    private static readonly HeaderExtensionIds Subscriber = new() { Mid = 1, AbsSendTime = 5, TransportWideCc = 6, AudioLevel = 7, PlayoutDelay = 8 };
    private static readonly byte[] Body = [0xAA, 0xBB, 0xCC, 0xDD, 0xEE];

    [Fact]
    public void TheHeaderIsOursAndTheExtensionsTheSubscribersOnly()
    {
        var transport = new CountingTransport();
        var writer = new OutgoingRtpWriter(Publisher, Subscriber, "v1", transport, new PlayoutDelaySetting(), vp8: null);
        var written = Write(writer, new OutgoingRtp(0x5000, 100, 7, 90_000, default, Newest: true));

        Assert.True(RtpHeader.TryRead(written, out var header));
        Assert.Equal(0x5000u, header.Ssrc);
        Assert.Equal(100, header.PayloadType);
        Assert.Equal(7, header.SequenceNumber);
        Assert.Equal(90_000u, header.Timestamp);
        Assert.Equal(Body, header.Payload.ToArray());

        Assert.True(header.TryGetExtension(1, out var mid));
        Assert.Equal("v1"u8.ToArray(), mid.ToArray()); // the subscriber's m-line, not the publisher's "0"
        Assert.True(header.TryGetExtension(7, out var level));
        Assert.Equal([0x9F], level.ToArray());
        Assert.True(header.TryGetExtension(6, out var transportWide));
        Assert.Equal(transport.Last, BinaryPrimitives.ReadUInt16BigEndian(transportWide));
        Assert.True(header.TryGetExtension(5, out var absSendTime));
        Assert.Equal(3, absSendTime.Length);
        Assert.False(header.TryGetExtension(10, out _)); // rid names the publisher's encoding
        Assert.False(header.TryGetExtension(8, out _)); // no playout delay asked for
        Assert.False(header.TryGetExtension(4, out _));
    }

    [Fact]
    public void ARaisedPlayoutDelayIsWritten()
    {
        var playoutDelay = new PlayoutDelaySetting();
        playoutDelay.Update(TimeSpan.FromMilliseconds(240), 1);
        var writer = new OutgoingRtpWriter(Publisher, Subscriber, "v1", new CountingTransport(), playoutDelay, vp8: null);
        Assert.True(RtpHeader.TryRead(Write(writer, new OutgoingRtp(1, 100, 7, 0, default, Newest: true)), out var header));

        Assert.True(header.TryGetExtension(8, out var value));
        var expected = new byte[3];
        PlayoutDelayPolicy.Write(expected, TimeSpan.FromMilliseconds(240), PlayoutDelayPolicy.Upper);
        Assert.Equal(expected, value.ToArray());
    }

    [Fact]
    public void RtxCarriesTheOriginalSequenceNumberBeforeThePayload()
    {
        var writer = new OutgoingRtpWriter(Publisher, Subscriber, "v1", new CountingTransport(), new PlayoutDelaySetting(), vp8: null);
        Assert.True(RtpHeader.TryRead(Write(writer, new OutgoingRtp(0x6000, 101, 500, 0, default, Newest: false, OriginalSequence: 0xBEEF)), out var header));

        Assert.Equal(0x6000u, header.Ssrc);
        Assert.Equal(500, header.SequenceNumber);
        Assert.Equal([0xBE, 0xEF, .. Body], header.Payload.ToArray());
    }

    [Fact]
    public void WithNothingToWriteThereIsNoExtensionBlock()
    {
        var writer = new OutgoingRtpWriter(Publisher, HeaderExtensionIds.None, "v1", new CountingTransport(), new PlayoutDelaySetting(), vp8: null);
        var written = Write(writer, new OutgoingRtp(1, 100, 7, 0, default, Newest: true));
        Assert.True(RtpHeader.TryRead(written, out var header));
        Assert.False(header.HasExtension);
        Assert.Equal(RtpHeader.FixedLength + Body.Length, written.Length);
    }

    private static byte[] Write(OutgoingRtpWriter writer, in OutgoingRtp rtp)
    {
        var packet = new byte[100];
        var headerWriter = new RtpHeaderWriter(packet, 96, 40_000, 1_234, 0x1234, marker: false);
        headerWriter.AddOneByteExtension(4, "0"u8);
        headerWriter.AddOneByteExtension(10, "h"u8);
        headerWriter.AddOneByteExtension(2, [1, 2, 3]);
        headerWriter.AddOneByteExtension(3, [0, 9]);
        headerWriter.AddOneByteExtension(1, [0x9F]);
        var length = headerWriter.Complete();
        Body.CopyTo(packet, length);
        length += Body.Length;
        Assert.True(RtpHeader.TryRead(packet.AsSpan(0, length), out var header));

        var destination = new byte[length + OutgoingRtpWriter.MaxAddedHeaderBytes];
        var written = writer.Write(packet.AsSpan(0, length), header, destination, rtp);
        return destination[..written];
    }

    private sealed class CountingTransport : SubscriberTransport
    {
        public ushort Last { get; private set; } = 41;

        public override bool IsConnected => true;

        public override bool SendRtp(Span<byte> buffer, int length) => true;

        public override ushort NextTransportSequence() => ++Last;
    }
}
