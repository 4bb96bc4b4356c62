using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// Protect + unprotect of one 1,200-byte RTP packet per profile: the crypto cost of one forwarded packet
/// (the relay unprotects once per incoming packet and protects once per subscriber).
/// </summary>
[MemoryDiagnoser]
public class SrtpBenchmarks
{
    private readonly byte[] _packet = new byte[1500];
    private readonly byte[] _template = new byte[1200];
    private SrtpContext _sender = null!;
    private SrtpContext _receiver = null!;
    private ushort _sequence;

    // By name: SrtpProfile is internal to the relay, and the generated benchmark runner sets this property from outside.
    [Params(nameof(SrtpProfile.Aes128CmHmacSha1_80), nameof(SrtpProfile.AeadAes128Gcm), nameof(SrtpProfile.AeadAes256Gcm))]
    public string Profile { get; set; } = nameof(SrtpProfile.Aes128CmHmacSha1_80);

    [GlobalSetup]
    public void Setup()
    {
        var profile = Enum.Parse<SrtpProfile>(Profile);
        var key = new byte[profile.KeyLength()];
        var salt = new byte[profile.SaltLength()];
        new Random(1).NextBytes(key);
        new Random(2).NextBytes(salt);
        _sender = new SrtpContext(profile, key, salt);
        _receiver = new SrtpContext(profile, key, salt);
        new Random(3).NextBytes(_template);
        _template[0] = 0x80;
        _template[1] = 96;
        _template[8] = 0x12;
    }

    [Benchmark]
    public int ProtectAndUnprotect()
    {
        _template.CopyTo(_packet, 0);
        _sequence++;
        _packet[2] = (byte)(_sequence >> 8);
        _packet[3] = (byte)_sequence;
        _sender.TryProtectRtp(_packet, _template.Length, out var protectedLength);
        _receiver.TryUnprotectRtp(_packet, protectedLength, out var length);
        return length;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.Dispose();
        _receiver.Dispose();
    }
}
