using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>A coturn address range: "a" or "a-b", IPv4 or IPv6 (IPv4-mapped IPv6 stays IPv6, as coturn keeps it).</summary>
internal sealed record AddressRange(AddressFamily Family, BigInteger First, BigInteger Last)
{
    public static AddressRange Parse(string text)
    {
        var parts = text.Trim().Split('-', 2);
        var first = IPAddress.Parse(parts[0].Trim());
        var last = parts.Length == 2 ? IPAddress.Parse(parts[1].Trim()) : first;
        if (first.AddressFamily != last.AddressFamily)
        {
            throw new FormatException($"mixed families in {text}");
        }

        var range = new AddressRange(first.AddressFamily, Value(first), Value(last));
        return range.First <= range.Last ? range : throw new FormatException($"empty range {text}");
    }

    public bool Contains(IPAddress address) => address.AddressFamily == Family && Value(address) >= First && Value(address) <= Last;

    private static BigInteger Value(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);
}
