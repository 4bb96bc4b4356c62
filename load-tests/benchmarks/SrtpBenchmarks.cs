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

    [Params(SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes128Gcm, SrtpProfile.AeadAes256Gcm)]
    public SrtpProfile Profile { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var key = new byte[Profile.KeyLength()];
        var salt = new byte[Profile.SaltLength()];
        new Random(1).NextBytes(key);
        new Random(2).NextBytes(salt);
        _sender = new SrtpContext(Profile, key, salt);
        _receiver = new SrtpContext(Profile, key, salt);
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
