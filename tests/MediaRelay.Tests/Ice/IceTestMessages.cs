using System.Net;
using System.Security.Cryptography;
using System.Text;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.MediaRelay.Tests.Ice;

/// <summary>Connectivity checks with any attribute left out, and a clock tests move by hand.</summary>
internal static class IceTestMessages
{
    public static readonly uint Priority = IceCandidatePriority.Compute(IceCandidatePriority.PeerReflexiveTypePreference, 65535);

    public static byte[] Check(
        string? username,
        string? password,
        bool priority = true,
        bool fingerprint = true,
        bool controlled = false,
        bool useCandidate = false,
        byte[]? transactionId = null,
        uint? priorityValue = null)
    {
        byte[] buffer = new byte[512];
        var writer = new StunWriter(buffer, StunClass.Request, StunMethod.Binding, transactionId ?? RandomNumberGenerator.GetBytes(12));
        if (username is not null)
        {
            writer.AddUsername(Encoding.ASCII.GetBytes(username));
        }

        if (priority)
        {
            writer.AddPriority(priorityValue ?? Priority);
        }

        if (controlled)
        {
            writer.AddIceControlled(7);
        }
        else
        {
            writer.AddIceControlling(7);
        }

        if (useCandidate)
        {
            writer.AddUseCandidate();
        }

        // Chrome adds comprehension-optional attributes of its own (0xC057 network info): they must be ignored.
        writer.AddAttribute(0xC057, [0, 1, 0, 10]);
        if (password is not null)
        {
            writer.AddMessageIntegrity(Encoding.ASCII.GetBytes(password));
        }

        if (fingerprint)
        {
            writer.AddFingerprint();
        }

        return buffer[..writer.Length];
    }

    public static IPEndPoint MappedAddress(ReadOnlySpan<byte> response)
    {
        Assert.True(StunMessage.TryRead(response, out StunMessage message));
        Assert.True(message.TryGetXorMappedAddress(out IPEndPoint? endPoint));
        return endPoint!;
    }
}

/// <summary>A clock that moves only when told to.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks = TimeSpan.TicksPerDay;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
