using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Teletherapy.MediaRelay;

/// <summary>
/// The addresses one party is taken to hold, for per-address limits: one IPv4 address, or the /64 of an IPv6 address
/// (RFC 4291 §2.5.4 and RFC 6177: a home or a host is given a whole /64, so counting single IPv6 addresses would let
/// it open 2^64 "addresses"). IPv4-mapped IPv6 addresses count as their IPv4 address.
/// </summary>
public readonly struct AddressRange : IEquatable<AddressRange>
{
    private const ulong MappedIpv4Prefix = 0x0000_FFFF_0000_0000UL;

    private readonly ulong _high;
    private readonly ulong _low;

    private AddressRange(ulong high, ulong low)
    {
        _high = high;
        _low = low;
    }

    internal bool IsIPv4 => _high == 0 && (_low & 0xFFFF_FFFF_0000_0000UL) == MappedIpv4Prefix;

    public static AddressRange Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            return new AddressRange(0, MappedIpv4Prefix | BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]));
        }

        address.TryWriteBytes(bytes, out _);
        return new AddressRange(BinaryPrimitives.ReadUInt64BigEndian(bytes), 0);
    }

    /// <summary>From the 128 bits of an address (IPv4 as IPv4-mapped IPv6), as <c>RemoteKey</c> keeps it.</summary>
    internal static AddressRange FromBits(ulong high, ulong low) =>
        high == 0 && (low & 0xFFFF_FFFF_0000_0000UL) == MappedIpv4Prefix ? new AddressRange(0, low) : new AddressRange(high, 0);

    public bool Equals(AddressRange other) => _high == other._high && _low == other._low;

    public override bool Equals(object? obj) => obj is AddressRange other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low);

    /// <summary>"203.0.113.7" or "2001:db8:1:2::/64".</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _low);
        var address = new IPAddress(bytes);
        return IsIPv4 ? address.MapToIPv4().ToString() : address + "/64";
    }

    public static bool operator ==(AddressRange left, AddressRange right) => left.Equals(right);

    public static bool operator !=(AddressRange left, AddressRange right) => !left.Equals(right);
}
