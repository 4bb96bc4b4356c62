using System.Globalization;
using System.Text;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=candidate:&lt;foundation&gt; &lt;component&gt; &lt;transport&gt; &lt;priority&gt; &lt;address&gt; &lt;port&gt; typ
/// &lt;type&gt; [raddr &lt;a&gt;] [rport &lt;p&gt;] [tcptype &lt;t&gt;] ...</c> (RFC 8839 §5.1, RFC 6544 §4.5 for tcptype).
/// Further name/value extensions (generation, ufrag, network-id, ...) are kept in order.
/// </summary>
internal sealed record SdpCandidate(
    string Foundation,
    int Component,
    string Transport,
    uint Priority,
    string Address,
    int Port,
    string Type,
    string? RelatedAddress = null,
    int? RelatedPort = null,
    string? TcpType = null)
{
    public IReadOnlyList<KeyValuePair<string, string>> Extensions { get; init; } = [];

    public bool IsUdp => string.Equals(Transport, "udp", StringComparison.OrdinalIgnoreCase);

    public bool IsTcp => string.Equals(Transport, "tcp", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// RFC 8445 §5.1.2.1: priority = 2^24·type preference + 2^8·local preference + (256 − component id).
    /// </summary>
    public static uint ComputePriority(int typePreference, int localPreference, int component) =>
        (uint)((typePreference << 24) + (localPreference << 8) + (256 - component));

    public override string ToString()
    {
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"{Foundation} {Component} {Transport} {Priority} {Address} {Port} typ {Type}");
        if (RelatedAddress is not null)
        {
            builder.Append(" raddr ").Append(RelatedAddress);
        }

        if (RelatedPort is { } relatedPort)
        {
            builder.Append(CultureInfo.InvariantCulture, $" rport {relatedPort}");
        }

        if (TcpType is not null)
        {
            builder.Append(" tcptype ").Append(TcpType);
        }

        foreach (KeyValuePair<string, string> extension in Extensions)
        {
            builder.Append(' ').Append(extension.Key).Append(' ').Append(extension.Value);
        }

        return builder.ToString();
    }

    public static bool TryParse(string? value, out SdpCandidate? candidate)
    {
        candidate = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 8
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int component)
            || component is < 1 or > 256
            || !SdpNumbers.TryParseUInt32(parts[3], out uint priority)
            || !SdpNumbers.TryParsePort(parts[5], out int port)
            || parts[6] != "typ")
        {
            return false;
        }

        string? relatedAddress = null;
        int? relatedPort = null;
        string? tcpType = null;
        var extensions = new List<KeyValuePair<string, string>>();
        // RFC 8839 §5.1: after "typ <type>" come name/value pairs.
        if ((parts.Length - 8) % 2 != 0)
        {
            return false;
        }

        for (int i = 8; i + 1 < parts.Length; i += 2)
        {
            switch (parts[i])
            {
                case "raddr":
                    relatedAddress = parts[i + 1];
                    break;
                case "rport":
                    if (!SdpNumbers.TryParsePort(parts[i + 1], out int rport))
                    {
                        return false;
                    }

                    relatedPort = rport;
                    break;
                case "tcptype":
                    tcpType = parts[i + 1];
                    break;
                default:
                    extensions.Add(new KeyValuePair<string, string>(parts[i], parts[i + 1]));
                    break;
            }
        }

        candidate = new SdpCandidate(parts[0], component, parts[2], priority, parts[4], port, parts[7], relatedAddress, relatedPort, tcpType)
        {
            Extensions = extensions,
        };
        return true;
    }
}
