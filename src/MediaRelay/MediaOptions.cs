using System.ComponentModel.DataAnnotations;

namespace Teletherapy.MediaRelay;

/// <summary>Configuration section <c>Media</c>: where the relay listens and what it announces.</summary>
public sealed class MediaOptions
{
    public const string SectionName = "Media";

    /// <summary>
    /// On Linux, read the UDP socket with <c>recvmmsg</c> and send what each read causes with one <c>sendmmsg</c>
    /// (<see cref="Transport.LinuxUdpBatch"/>). Default true; false uses one system call per datagram, as elsewhere.
    /// </summary>
    public bool BatchedUdp { get; set; } = true;

    /// <summary>
    /// With <see cref="BatchedUdp"/>: after handling a batch that did not fill the read, wait this long before reading
    /// again, so the next read takes what arrived meanwhile in one wake-up. A wake-up is what a packet costs most on a
    /// virtual machine; the price is at most this much added delay. 0 reads again at once.
    /// </summary>
    [Range(0, 5000)]
    public int UdpCoalesceMicroseconds { get; set; } = 500;

    /// <summary>
    /// Threads that receive (and forward) UDP media, each on a socket of its own bound to the same port with
    /// <c>SO_REUSEPORT</c>: Linux spreads remotes over them by address and port, so one peer's packets always reach
    /// the same thread, in order. Default 1; up to the cores the relay may use. Linux only (elsewhere always 1).
    /// </summary>
    [Range(1, 64)]
    public int UdpReceiveThreads { get; set; } = 1;

    /// <summary>UDP port shared by every peer. Default 40000; 0 lets the system choose (tests).</summary>
    [Range(0, 65535)]
    public int UdpPort { get; set; } = 40000;

    /// <summary>TCP port for ICE-TCP (passive, RFC 4571 framing). Default 40000; 0 lets the system choose.</summary>
    [Range(0, 65535)]
    public int TcpPort { get; set; } = 40000;

    /// <summary>Local address the sockets bind to. Default any IPv4 address (0.0.0.0).</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>
    /// Addresses put in ICE candidates. Default: the first non-loopback IPv4 address of this host,
    /// or 127.0.0.1 when there is none.
    /// </summary>
    public IList<string> AnnouncedAddresses { get; } = new List<string>();

    /// <summary>Seconds without a valid STUN request before a peer is closed (RFC 7675 consent). Default 30.</summary>
    [Range(5, 600)]
    public int ConsentTimeoutSeconds { get; set; } = 30;

    // ---- ICE-TCP (RFC 6544): one listener shared by every peer, so each connection is bounded ----

    /// <summary>
    /// Open ICE-TCP connections at most; further connects are closed at once and counted. Default 1000: a browser opens
    /// one connection per transport (two per participant), so this is 250 two-person sessions on TCP alone, more than
    /// the relay forwards on two cores, while 1000 idle connections cost a few MiB and 2000 file descriptors.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxTcpConnections { get; set; } = 1000;

    /// <summary>
    /// Open ICE-TCP connections at most from one address (IPv4) or one /64 (IPv6, which one home or host is given).
    /// Default 20: a household or a clinic's NAT with several people on TCP fits (two per participant), while one
    /// address cannot take more than a fiftieth of <see cref="MaxTcpConnections"/>.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxTcpConnectionsPerAddress { get; set; } = 20;

    /// <summary>
    /// Seconds a new ICE-TCP connection may stay open without a valid (authenticated) STUN binding request before it
    /// is closed and counted. Default 10: browsers send their first check as soon as the connection is up.
    /// </summary>
    [Range(1, 300)]
    public int TcpIdleTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Bytes waiting to be written to one ICE-TCP connection at most; packets beyond are dropped and counted. The
    /// queue starts small and grows to this. Default 256 KiB, about 0.8 s of 2.5 Mbit/s video: media later than that
    /// is of no use to the subscriber.
    /// </summary>
    [Range(4096, 16 * 1024 * 1024)]
    public int TcpSendQueueBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// Seconds an ICE-TCP connection's send queue may stay full (the subscriber stopped reading) before the connection
    /// is closed and counted. Default 5.
    /// </summary>
    [Range(1, 120)]
    public int TcpSendStallSeconds { get; set; } = 5;

    // ---- caps on what one caller can make the relay hold; each hit is counted in teletherapy_relay_limits_hit_total ----

    /// <summary>Largest SDP offer or answer accepted, in UTF-8 bytes. Default 32 KiB; a browser's offer is 2–8 KiB.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxSdpBytes { get; set; } = 32 * 1024;

    /// <summary>m-lines in one offer at most (publish and connection test). Default 16; the web client offers two.</summary>
    [Range(1, 1000)]
    public int MaxMediaSectionsPerOffer { get; set; } = 16;

    /// <summary>Simulcast layers of one m-line at most (RFC 8853 send streams and rids). Default 3, as browsers send.</summary>
    [Range(1, 16)]
    public int MaxSimulcastLayers { get; set; } = 3;

    /// <summary>Peers (participants) in one router (session) at most. Default 16.</summary>
    [Range(2, 1000)]
    public int MaxPeersPerRouter { get; set; } = 16;

    /// <summary>Routers (sessions with media) at once at most. Default 200, twice what two cores forward without loss.</summary>
    [Range(1, 100_000)]
    public int MaxRouters { get; set; } = 200;

    /// <summary>
    /// Peer transports at once at most, sessions and connection tests together. Default 1000: every participant
    /// holds two (publish and subscribe; a new publish offer replaces the old connection), each test one.
    /// </summary>
    [Range(2, 100_000)]
    public int MaxTransports { get; set; } = 1000;

    /// <summary>
    /// DTLS handshakes in progress at once at most; each holds a thread until it ends (at most the 10 s handshake
    /// timeout). ClientHellos of transports beyond it are dropped and counted, and the browser's retransmission
    /// (RFC 6347 §4.2.4) finds a free slot. Default 64.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxPendingDtlsHandshakes { get; set; } = 64;

    /// <summary>Connection tests (<c>/check</c>) running at once at most. Default 20 (each lasts at most 20 s).</summary>
    [Range(1, 10_000)]
    public int MaxConnectionTests { get; set; } = 20;

    /// <summary>Connection tests running at once from one address (IPv4) or one /64 (IPv6) at most. Default 2.</summary>
    [Range(1, 1000)]
    public int MaxConnectionTestsPerAddress { get; set; } = 2;
}
