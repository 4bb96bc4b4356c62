using System.ComponentModel.DataAnnotations;

namespace Teletherapy.MediaRelay;

/// <summary>Configuration section <c>Media</c>: where the relay listens and what it announces.</summary>
public sealed class MediaOptions
{
    public const string SectionName = "Media";

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
}
