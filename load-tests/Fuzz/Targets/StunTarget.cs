using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// STUN on the media port (RFC 8489, RFC 8445): the demultiplexer, the unknown-remote lookup of
/// <see cref="MediaSockets"/>, the ICE-lite agent of the server and the controlling agent of the client stack, each on
/// the same datagram. Half of the mutated inputs get a fresh MESSAGE-INTEGRITY and FINGERPRINT (keyed as the seeds are),
/// so mutations reach the code after authentication too.
/// </summary>
internal sealed class StunTarget : FuzzTarget
{
    private const int MessageIntegrityLength = 20;

    private readonly IceCredentials _server;
    private readonly IceCredentials _client;
    private readonly IceLiteAgent _lite;
    private readonly IceControllingAgent _controlling;
    private readonly RemoteKey _from = RemoteKey.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 50000));
    private readonly IPEndPoint _fromEndPoint = new(IPAddress.Parse("::1"), 50001);
    private readonly byte[] _response = new byte[512];
    private long _now;

    public StunTarget(Corpus? corpus = null)
    {
        // The credentials of the recorded session, so that its checks authenticate as they did on the wire.
        string[] credentials = ((corpus ?? Corpus.Default).LoadText(Name, "ice-credentials.txt") ?? "fuzzserv fuzzserverpassword0123456 fuzzclnt fuzzclientpassword01234567")
            .Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        _server = new IceCredentials(credentials[0], credentials[1]);
        _client = new IceCredentials(credentials[2], credentials[3]);
        _lite = new IceLiteAgent(_server) { RemoteUfrag = _client.Ufrag };
        _controlling = new IceControllingAgent(_client, _server.Ufrag, _server.Password, TimeProvider.System, tieBreaker: 7);
    }

    public override string Name => "stun";

    public override string EntryPoints =>
        "Demultiplexer.Classify, StunMessage.IsStun/TryRead, every attribute read, VerifyMessageIntegrity, VerifyFingerprint, " +
        "IceLiteAgent.LocalUfragOf/HandleStun (server), IceControllingAgent.HandleResponse/WriteResponseToRequest (client)";

    // The message length, then the lengths of the first attributes.
    public override int[] LengthOffsets => [2, 22, 26, 30];

    public override IEnumerable<byte[]> Seeds(Corpus corpus) => [.. corpus.Load(Name), .. Written()];

    /// <summary>Packets made by the relay's own writers, and by hand where they write no such packet.</summary>
    private IEnumerable<byte[]> Written()
    {
        byte[] id = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        byte[] buffer = new byte[512];
        byte[] username = Encoding.ASCII.GetBytes(_server.Ufrag + ":" + _client.Ufrag);
        yield return buffer[..StunMessages.WriteBindingRequest(buffer, id, username, 0x6E0001FF, 42, true, _server.PasswordBytes)];
        yield return buffer[..StunMessages.WriteBindingRequest(buffer, id, username, 1, 43, false, _server.PasswordBytes)];
        yield return buffer[..StunMessages.WriteBindingSuccess(buffer, id, [127, 0, 0, 1], 50000, _server.PasswordBytes)];
        yield return buffer[..StunMessages.WriteBindingSuccess(buffer, id, IPAddress.IPv6Loopback.GetAddressBytes(), 50001, _server.PasswordBytes)];
        yield return buffer[..StunMessages.WriteBindingError(buffer, id, StunMessages.RoleConflict, "Role Conflict", _server.PasswordBytes)];
        yield return buffer[..StunMessages.WriteBindingError(buffer, id, StunMessages.Unauthorized, "Unauthorized", default)];
    }

    public override byte[] Next(PacketMutator mutator)
    {
        byte[] input = mutator.Next();
        if (mutator.Random.Next(2) == 0)
        {
            Sign(input, _server.PasswordBytes);
        }

        return input;
    }

    public override bool Run(byte[] input)
    {
        _now++;
        PacketClass packetClass = Demultiplexer.Classify(input);
        bool isStun = StunMessage.IsStun(input);
        Check.That(!isStun || packetClass == PacketClass.Stun, "STUN by its cookie but not by its first byte");
        bool accepted = StunMessage.TryRead(input, out StunMessage message);
        if (accepted)
        {
            ReadEverything(message, input.Length);
        }

        IceCheckOutcome outcome = _lite.HandleStun(input, _from, _now, _response, out int length, out _);
        if (outcome is IceCheckOutcome.Accepted or IceCheckOutcome.Nominated or IceCheckOutcome.Rejected)
        {
            CheckResponse(length);
        }

        _controlling.HandleResponse(input);
        length = _controlling.WriteResponseToRequest(input, _fromEndPoint, _response);
        if (length > 0)
        {
            CheckResponse(length);
        }

        return accepted;
    }

    /// <summary>
    /// Recomputes MESSAGE-INTEGRITY (RFC 8489 §14.5) and a trailing FINGERPRINT (§14.7) of a message that still has
    /// them where the reader finds them; other inputs are left alone.
    /// </summary>
    internal static void Sign(byte[] data, byte[] key)
    {
        if (!StunMessage.TryRead(data, out StunMessage message))
        {
            return;
        }

        int length = message.Buffer.Length;
        int integrity = -1;
        foreach (StunAttribute attribute in message.Attributes)
        {
            if (attribute.Type == StunAttributeType.MessageIntegrity && attribute.Value.Length == MessageIntegrityLength)
            {
                integrity = attribute.Offset;
                break;
            }
        }

        if (integrity >= 0)
        {
            byte[] covered = data[..integrity];
            BinaryPrimitives.WriteUInt16BigEndian(covered.AsSpan(2), (ushort)(integrity - StunMessage.HeaderLength + 4 + MessageIntegrityLength));
#pragma warning disable CA5350 // RFC 8489 §14.5 is HMAC-SHA1.
            HMACSHA1.HashData(key, covered, data.AsSpan(integrity + 4, MessageIntegrityLength));
#pragma warning restore CA5350
        }

        int fingerprint = length - 8;
        if (fingerprint >= StunMessage.HeaderLength
            && BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(fingerprint)) == StunAttributeType.Fingerprint
            && BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(fingerprint + 2)) == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(fingerprint + 4), StunMessage.ComputeFingerprint(data.AsSpan(0, fingerprint)));
        }
    }

    private void ReadEverything(StunMessage message, int inputLength)
    {
        Check.That(message.Buffer.Length >= StunMessage.HeaderLength && message.Buffer.Length <= inputLength, "message outside the datagram");
        Check.That(message.Buffer.Length - StunMessage.HeaderLength == message.AttributesLength, "message length differs from the header's");
        foreach (StunAttribute attribute in message.Attributes)
        {
            Check.That(attribute.Offset + 4 + attribute.Value.Length <= message.Buffer.Length, "attribute outside the message");
        }

        _ = message.Class;
        _ = message.Method;
        _ = message.TransactionId.Length;
        if (message.TryGetUsername(out ReadOnlySpan<byte> username))
        {
            _ = IceLiteAgent.LocalUfragOf(username).Length;
        }

        message.TryGetPriority(out _);
        message.TryGetIceControlled(out _);
        message.TryGetIceControlling(out _);
        _ = message.HasUseCandidate;
        if (message.TryGetErrorCode(out int code, out _))
        {
            Check.That(code is >= 300 and <= 699, "error code outside 300-699");
        }

        Span<byte> address = stackalloc byte[16];
        if (message.TryGetXorMappedAddress(address, out int addressLength, out _))
        {
            Check.That(addressLength is 4 or 16, "mapped address neither IPv4 nor IPv6");
        }

        message.VerifyMessageIntegrity(_server.PasswordBytes);
        message.VerifyFingerprint();
    }

    /// <summary>Whatever the input, what the relay sends back is well-formed STUN with a valid FINGERPRINT.</summary>
    private void CheckResponse(int length)
    {
        Check.That(length is > StunMessage.HeaderLength and <= 512, $"response of {length} bytes");
        Check.That(StunMessage.TryRead(_response.AsSpan(0, length), out StunMessage response), "response is not STUN");
        Check.That(response.VerifyFingerprint(), "response fingerprint does not verify");
    }
}
