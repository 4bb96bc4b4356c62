using System.Net;
using System.Net.Sockets;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// The key a client is counted under: its IPv4 address, or its IPv6 /64 (one household or phone gets a whole /64,
/// so counting single IPv6 addresses would count nothing). Behind a named proxy this is the client's address
/// (forwarded headers), never the proxy's.
/// </summary>
internal static class ClientAddress
{
    public static string PartitionOf(HttpContext context) => PartitionOf(context.Connection.RemoteIpAddress);

    public static string PartitionOf(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
