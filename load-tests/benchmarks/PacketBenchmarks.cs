using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>Parsing on the receive path: an ICE check answered by the lite agent, an RTP header with extensions, a compound RTCP datagram.</summary>
[MemoryDiagnoser]
public class PacketBenchmarks
{
    private readonly byte[] _check = new byte[256];
    private readonly byte[] _response = new byte[256];
    private readonly byte[] _rtp = new byte[1200];
    private readonly byte[] _rtcp = new byte[256];
    private IceLiteAgent _agent = null!;
    private int _checkLength;
    private int _rtpLength;
    private int _rtcpLength;
    private RemoteKey _from;

    [GlobalSetup]
    public void Setup()
    {
        var local = IceCredentials.Create();
        _agent = new IceLiteAgent(local);
        var username = System.Text.Encoding.ASCII.GetBytes(local.Ufrag + ":abcd");
        _checkLength = StunMessages.WriteBindingRequest(_check, new byte[12], username, 12345, 42, useCandidate: true, local.PasswordBytes);
        _from = RemoteKey.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 50000));

        var writer = new RtpHeaderWriter(_rtp, 96, 1000, 90000, 0x1234, marker: false);
        writer.AddOneByteExtension(1, [(byte)'0']);
        writer.AddOneByteExtension(3, [0, 1]);
        _rtpLength = writer.Complete() + 1000;

        _rtcpLength = SenderReport.Write(_rtcp, 0x1234, 1, 2, 3, 4, default);
        _rtcpLength += PictureLossIndication.Write(_rtcp.AsSpan(_rtcpLength), 1, 0x1234);
    }

    [Benchmark]
    public int AnswerIceCheck() =>
        _agent.HandleStun(_check.AsSpan(0, _checkLength), _from, 1, _response, out var length) == IceCheckOutcome.Nominated ? length : -1;

    [Benchmark]
    public int ReadRtpHeaderAndExtension()
    {
        if (!RtpHeader.TryRead(_rtp.AsSpan(0, _rtpLength), out var header) || !header.TryGetExtension(1, out var mid))
        {
            return -1;
        }

        return header.PayloadLength + mid.Length;
    }

    [Benchmark]
    public int ReadCompoundRtcp()
    {
        var count = 0;
        foreach (var packet in new RtcpPacketEnumerator(_rtcp.AsSpan(0, _rtcpLength)))
        {
            count += packet.PacketType;
        }

        return count;
    }
}
