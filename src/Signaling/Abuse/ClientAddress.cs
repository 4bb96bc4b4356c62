using System.Net;
using Teletherapy.MediaRelay;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// The key a client is counted under: the relay's <see cref="AddressRange"/> of its address (an IPv4 address, or an
/// IPv6 /64) as text. Behind a named proxy this is the client's address (forwarded headers), never the proxy's.
/// </summary>
internal static class ClientAddress
{
    public static string PartitionOf(HttpContext context) => PartitionOf(context.Connection.RemoteIpAddress);

    public static string PartitionOf(IPAddress? address) => address is null ? "unknown" : AddressRange.Of(address).ToString();
}
