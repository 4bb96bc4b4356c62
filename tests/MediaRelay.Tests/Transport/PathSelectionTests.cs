using System.Net;
using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;
using static Teletherapy.MediaRelay.Tests.Ice.IceTestMessages;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// Which path a server transport sends on when the browser nominates several (RFC 8445 §8.1.1): the highest-priority
/// nominated one, whatever the order of nomination; a lower one only after an ICE restart (RFC 8445 §9) or when the
/// selected path loses consent (RFC 7675 §5.1). Checks go in through <see cref="WebRtcTransport.OnPacket"/> on paths
/// that only record what is sent, on a clock the tests move.
/// </summary>
public sealed class PathSelectionTests : IDisposable
{
    private const string ClientUfrag = "clnt";

    /// <summary>What a browser puts in PRIORITY for its UDP host candidate (RFC 8445 §7.1.1).</summary>
    private static readonly uint UdpPriority = IceCandidatePriority.Compute(IceCandidatePriority.PeerReflexiveTypePreference, 65535);

    /// <summary>Browsers give TCP candidates a lower type preference than UDP ones.</summary>
    private static readonly uint TcpPriority = IceCandidatePriority.Compute(IceCandidatePriority.PeerReflexiveTypePreference - 30, 65535);

    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate();

    private readonly FakeTimeProvider _time = new();
    private readonly TransportDirectory _directory = new();
    private readonly WebRtcTransport _transport;
    private readonly RecordingPath _udp = new(RemoteKey.FromEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 50123)));
    private readonly RecordingPath _tcp = new(RemoteKey.ForTcpConnection(1, new IPEndPoint(IPAddress.Parse("192.0.2.7"), 50124)));
    private IceCredentials _server;
    private string _clientUfrag = ClientUfrag;

    public PathSelectionTests()
    {
        _transport = new WebRtcTransport("paths", _directory, Certificate, _time);
        _transport.SetRemote(ClientUfrag, Certificate.Fingerprint);
        _server = _transport.LocalIce;
    }

    public void Dispose() => _transport.Dispose();

    [Fact]
    public void A_lower_priority_tcp_nomination_after_the_udp_one_leaves_media_on_udp()
    {
        CheckOn(_udp, UdpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);

        // Firefox's aggressive nomination nominates the ICE-TCP pair as well when our first answer is slow.
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        CheckOn(_tcp, TcpPriority, useCandidate: true);

        Assert.Same(_udp, _transport.SelectedPath);
        Assert.Equal(2, _directory.BoundPaths);
        Assert.Equal(2, _tcp.Sent); // each check is still answered on its own path
    }

    [Fact]
    public void A_higher_priority_udp_nomination_after_the_tcp_one_moves_media_to_udp()
    {
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        Assert.Same(_tcp, _transport.SelectedPath);

        CheckOn(_udp, UdpPriority);
        Assert.Same(_tcp, _transport.SelectedPath); // a valid check that does not nominate is no reason to move

        CheckOn(_udp, UdpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);

        // Checks still arriving on the TCP pair, nominating or not, do not take media back.
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        CheckOn(_tcp, TcpPriority);
        Assert.Same(_udp, _transport.SelectedPath);
    }

    [Fact]
    public void With_equal_browser_priorities_our_higher_udp_candidate_decides_the_pair_priority()
    {
        CheckOn(_tcp, UdpPriority, useCandidate: true);
        CheckOn(_udp, UdpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);

        CheckOn(_tcp, UdpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);
    }

    [Fact]
    public void After_an_ice_restart_media_follows_the_new_nomination_even_to_a_lower_priority_path()
    {
        CheckOn(_udp, UdpPriority, useCandidate: true);
        IceCredentials old = _server;

        _server = _transport.RestartIce("clnt2");
        Assert.NotEqual(old.Ufrag, _server.Ufrag);
        Assert.True(_directory.TryGetByUfrag(_server.UfragBytes, out WebRtcTransport? found));
        Assert.Same(_transport, found);

        // Until the browser uses the new credentials, the old ones still work and the old rule still holds.
        CheckOn(_tcp, TcpPriority, useCandidate: true, credentials: old, clientUfrag: ClientUfrag);
        Assert.Same(_udp, _transport.SelectedPath);

        // The first nomination with the new credentials starts over: the UDP nomination is void.
        _clientUfrag = "clnt2";
        CheckOn(_udp, UdpPriority);
        Assert.Same(_udp, _transport.SelectedPath);
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        Assert.Same(_tcp, _transport.SelectedPath);

        // Within the new generation priority rules again.
        CheckOn(_udp, UdpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);
    }

    [Fact]
    public void A_second_restart_retires_the_first_ufrag_and_dispose_unregisters_the_rest()
    {
        IceCredentials first = _server;
        IceCredentials second = _transport.RestartIce("clnt2");
        IceCredentials third = _transport.RestartIce("clnt3");

        Assert.False(_directory.TryGetByUfrag(first.UfragBytes, out _));
        Assert.True(_directory.TryGetByUfrag(second.UfragBytes, out _));
        Assert.True(_directory.TryGetByUfrag(third.UfragBytes, out _));

        _transport.Dispose();
        Assert.False(_directory.TryGetByUfrag(second.UfragBytes, out _));
        Assert.False(_directory.TryGetByUfrag(third.UfragBytes, out _));
        Assert.Throws<ObjectDisposedException>(() => _transport.RestartIce("clnt4"));
    }

    [Fact]
    public void When_the_selected_path_loses_consent_media_moves_to_a_nominated_path_that_kept_it()
    {
        CheckOn(_udp, UdpPriority, useCandidate: true);
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);

        // The browser's UDP path goes silent; consent checks keep coming over TCP (RFC 7675 §5.1: every ~5 s).
        for (var second = 5; second < 30; second += 5)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            CheckOn(_tcp, TcpPriority);
            Assert.Same(_udp, _transport.SelectedPath);
        }

        _time.Advance(TimeSpan.FromSeconds(5));
        CheckOn(_tcp, TcpPriority);
        Assert.Same(_tcp, _transport.SelectedPath);

        // The lapsed path needs a new nomination to be used again; then its priority counts as before.
        CheckOn(_udp, UdpPriority);
        Assert.Same(_tcp, _transport.SelectedPath);
        CheckOn(_udp, UdpPriority, useCandidate: true);
        Assert.Same(_udp, _transport.SelectedPath);
    }

    [Fact]
    public void Housekeeping_moves_media_off_a_lapsed_path_without_waiting_for_the_next_check()
    {
        CheckOn(_udp, UdpPriority, useCandidate: true);
        _time.Advance(TimeSpan.FromSeconds(20));
        CheckOn(_tcp, TcpPriority, useCandidate: true);

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(_transport.CloseIfConsentExpired(TimeSpan.FromSeconds(30)));
        Assert.Same(_udp, _transport.SelectedPath);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(_transport.CloseIfConsentExpired(TimeSpan.FromSeconds(30)));
        Assert.Same(_tcp, _transport.SelectedPath);
    }

    [Fact]
    public void A_lapsed_path_stays_selected_when_no_other_nominated_path_is_alive()
    {
        CheckOn(_udp, UdpPriority, useCandidate: true);
        CheckOn(_tcp, TcpPriority); // valid, never nominated
        _time.Advance(TimeSpan.FromSeconds(31));
        CheckOn(_tcp, TcpPriority);

        Assert.Same(_udp, _transport.SelectedPath);
    }

    [Fact]
    public void When_the_selected_path_closes_the_best_nominated_one_left_takes_over()
    {
        var second = new RecordingPath(RemoteKey.ForTcpConnection(2, new IPEndPoint(IPAddress.Parse("192.0.2.7"), 50125)));
        CheckOn(_tcp, TcpPriority, useCandidate: true);
        CheckOn(_udp, UdpPriority, useCandidate: true);
        CheckOn(second, TcpPriority - 1);

        _transport.OnPathClosed(_udp);

        Assert.Same(_tcp, _transport.SelectedPath);
    }

    [Fact]
    public void Checks_on_known_paths_allocate_nothing()
    {
        byte[] udp = Check($"{_server.Ufrag}:{ClientUfrag}", _server.Password, useCandidate: true, priorityValue: UdpPriority);
        byte[] tcp = Check($"{_server.Ufrag}:{ClientUfrag}", _server.Password, useCandidate: true, priorityValue: TcpPriority);
        _transport.OnPacket(_udp, udp, PacketClass.Stun);
        _transport.OnPacket(_tcp, tcp, PacketClass.Stun);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            _transport.OnPacket(_udp, udp, PacketClass.Stun);
            _transport.OnPacket(_tcp, tcp, PacketClass.Stun);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(202, _udp.Sent + _tcp.Sent);
        Assert.Same(_udp, _transport.SelectedPath);
    }

    [Fact]
    public void Pair_priority_follows_rfc_8445_section_6_1_2_3()
    {
        Assert.Equal((7UL << 32) + (2 * 9UL) + 1, IceCandidatePriority.Pair(controlling: 9, controlled: 7));
        Assert.Equal((7UL << 32) + (2 * 9UL), IceCandidatePriority.Pair(controlling: 7, controlled: 9));
        Assert.True(IceCandidatePriority.Host(tcp: false) > IceCandidatePriority.Host(tcp: true));
    }

    private void CheckOn(RecordingPath path, uint priority, bool useCandidate = false, IceCredentials? credentials = null, string? clientUfrag = null)
    {
        IceCredentials server = credentials ?? _server;
        byte[] check = Check($"{server.Ufrag}:{clientUfrag ?? _clientUfrag}", server.Password, useCandidate: useCandidate, priorityValue: priority);
        int sent = path.Sent;
        _transport.OnPacket(path, check, PacketClass.Stun);

        // Answered on the path it came by, with a success: the check was valid.
        Assert.Equal(sent + 1, path.Sent);
        Assert.True(StunMessage.TryRead(path.Last, out StunMessage response));
        Assert.Equal(StunClass.SuccessResponse, response.Class);
    }

    /// <summary>A path that keeps count of what is sent on it.</summary>
    private sealed class RecordingPath(RemoteKey key) : PacketPath(key)
    {
        public int Sent { get; private set; }

        private readonly byte[] _last = new byte[1500];
        private int _lastLength;

        public ReadOnlySpan<byte> Last => _last.AsSpan(0, _lastLength);

        public override bool IsOpen => true;

        public override bool Send(ReadOnlySpan<byte> packet)
        {
            Sent++;
            packet.CopyTo(_last);
            _lastLength = packet.Length;
            return true;
        }
    }
}
