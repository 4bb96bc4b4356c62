using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// Just enough of a TURN client (RFC 5766, long-term credentials of coturn's use-auth-secret) to allocate and ask for
/// permissions over UDP on loopback. A permission sends nothing to the peer: coturn answers from its policy alone.
/// </summary>
internal sealed class TurnClient : IDisposable
{
    private const uint MagicCookie = 0x2112A442;
    private const ushort Allocate = 0x0003;
    private const ushort CreatePermission = 0x0008;
    private const ushort AttrUsername = 0x0006;
    private const ushort AttrMessageIntegrity = 0x0008;
    private const ushort AttrErrorCode = 0x0009;
    private const ushort AttrRealm = 0x0014;
    private const ushort AttrNonce = 0x0015;
    private const ushort AttrXorPeerAddress = 0x0012;
    private const ushort AttrRequestedTransport = 0x0019;

    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly IPEndPoint _server;
    private readonly string _username;
    private readonly string _password;
    private byte[] _nonce = [];
    private byte[] _key = [];

    public TurnClient(IPEndPoint server, string secret)
    {
        _server = server;
        // The server's derivation (and coturn's): username "expiry:id", password base64(HMAC-SHA1(secret, username)).
        _username = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() + ":deployment-test";
        _password = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(_username)));
    }

    public string Realm { get; private set; } = "";

    public async Task AllocateAsync()
    {
        var transport = new byte[] { 17, 0, 0, 0 };
        var (status, attributes) = await RoundTripAsync(Allocate, [(AttrRequestedTransport, transport)], authenticate: false);
        Assert.Equal(401, status);
        Realm = Encoding.UTF8.GetString(attributes[AttrRealm]);
        _nonce = attributes[AttrNonce];
        _key = MD5.HashData(Encoding.UTF8.GetBytes($"{_username}:{Realm}:{_password}"));
        (status, _) = await RoundTripAsync(Allocate, [(AttrRequestedTransport, transport)], authenticate: true);
        Assert.True(status == 200, $"Allocate with derived credentials answered {status}");
    }

    /// <summary>200 when coturn grants the permission, else its error code (403: the peer is forbidden).</summary>
    public async Task<int> CreatePermissionAsync(IPAddress peer)
    {
        var value = new byte[8];
        value[1] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), (ushort)(3478 ^ (MagicCookie >> 16)));
        var address = peer.GetAddressBytes();
        for (var i = 0; i < 4; i++)
        {
            value[4 + i] = (byte)(address[i] ^ (byte)(MagicCookie >> (24 - (8 * i))));
        }

        var (status, _) = await RoundTripAsync(CreatePermission, [(AttrXorPeerAddress, value)], authenticate: true);
        return status;
    }

    public void Dispose() => _udp.Dispose();

    private async Task<(int Status, Dictionary<ushort, byte[]> Attributes)> RoundTripAsync(ushort method, List<(ushort Type, byte[] Value)> attributes, bool authenticate)
    {
        var transaction = RandomNumberGenerator.GetBytes(12);
        if (authenticate)
        {
            attributes.Add((AttrUsername, Encoding.UTF8.GetBytes(_username)));
            attributes.Add((AttrRealm, Encoding.UTF8.GetBytes(Realm)));
            attributes.Add((AttrNonce, _nonce));
        }

        using var message = new MemoryStream();
        message.Write(new byte[20]);
        foreach (var (type, value) in attributes)
        {
            WriteAttribute(message, type, value);
        }

        var bytes = message.ToArray();
        if (authenticate)
        {
            // The length covers the MESSAGE-INTEGRITY attribute while its HMAC is computed over what comes before it.
            WriteHeader(bytes, method, bytes.Length - 20 + 24, transaction);
            var hmac = HMACSHA1.HashData(_key, bytes);
            using var withIntegrity = new MemoryStream();
            withIntegrity.Write(bytes);
            WriteAttribute(withIntegrity, AttrMessageIntegrity, hmac);
            bytes = withIntegrity.ToArray();
        }
        else
        {
            WriteHeader(bytes, method, bytes.Length - 20, transaction);
        }

        for (var attempt = 0; attempt < 5; attempt++)
        {
            await _udp.SendAsync(bytes, _server);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                while (true)
                {
                    var answer = (await _udp.ReceiveAsync(timeout.Token)).Buffer;
                    if (answer.Length >= 20 && answer.AsSpan(8, 12).SequenceEqual(transaction))
                    {
                        return Read(answer);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        throw new TimeoutException($"no TURN answer to method 0x{method:x4}");
    }

    private static void WriteHeader(byte[] bytes, ushort type, int length, byte[] transaction)
    {
        BinaryPrimitives.WriteUInt16BigEndian(bytes, type);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)length);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), MagicCookie);
        transaction.CopyTo(bytes, 8);
    }

    private static void WriteAttribute(MemoryStream stream, ushort type, byte[] value)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(header, type);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)value.Length);
        stream.Write(header);
        stream.Write(value);
        stream.Write(new byte[(4 - (value.Length % 4)) % 4]);
    }

    private static (int Status, Dictionary<ushort, byte[]> Attributes) Read(byte[] message)
    {
        var type = BinaryPrimitives.ReadUInt16BigEndian(message);
        var attributes = new Dictionary<ushort, byte[]>();
        var offset = 20;
        while (offset + 4 <= message.Length)
        {
            var attributeType = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset));
            var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
            if (offset + 4 + length > message.Length)
            {
                break;
            }

            attributes.TryAdd(attributeType, message.AsSpan(offset + 4, length).ToArray());
            offset += 4 + length + ((4 - (length % 4)) % 4);
        }

        // Class bits: 0x0100 success, 0x0110 error.
        var isError = (type & 0x0110) == 0x0110;
        if (!isError)
        {
            return (200, attributes);
        }

        var error = attributes[AttrErrorCode];
        return ((error[2] & 0x07) * 100 + error[3], attributes);
    }
}
