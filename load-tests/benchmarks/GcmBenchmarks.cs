using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// AES-128-GCM encrypt + decrypt of one payload with a 12-byte header as associated data, as SRTP uses it, by each
/// implementation the relay can use: the in-process one on the processor's AES instructions, OpenSSL's called
/// directly, and the runtime's <see cref="AesGcm"/>. Sizes: an Opus frame and a full video packet.
/// </summary>
[MemoryDiagnoser]
public class GcmBenchmarks
{
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _aad = new byte[12];
    private readonly byte[] _tag = new byte[16];
    private byte[] _payload = [];
    private IGcmCipher? _cipher;
    private AesGcm? _runtime;

    [Params("AesNi", "OpenSsl", "Runtime")]
    public string Implementation { get; set; } = "AesNi";

    [Params(100, 1188)]
    public int Size { get; set; } = 1188;

    [GlobalSetup]
    public void Setup()
    {
        var key = new byte[16];
        new Random(1).NextBytes(key);
        new Random(2).NextBytes(_nonce);
        new Random(3).NextBytes(_aad);
        _payload = new byte[Size];
        new Random(4).NextBytes(_payload);
        switch (Implementation)
        {
            case "AesNi":
                _cipher = AesNiGcm.TryCreate(key) ?? throw new PlatformNotSupportedException("no AES-NI");
                break;
            case "OpenSsl":
                _cipher = OpenSslGcm.TryCreate(key) ?? throw new PlatformNotSupportedException("no OpenSSL 3");
                break;
            default:
                _runtime = new AesGcm(key, 16);
                break;
        }
    }

    [Benchmark]
    public bool EncryptAndDecrypt()
    {
        if (_cipher is { } cipher)
        {
            cipher.Encrypt(_nonce, _payload, _payload, _tag, _aad);
            return cipher.TryDecrypt(_nonce, _payload, _tag, _payload, _aad);
        }

        _runtime!.Encrypt(_nonce, _payload, _payload, _tag, _aad);
        _runtime.Decrypt(_nonce, _payload, _tag, _payload, _aad);
        return true;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cipher?.Dispose();
        _runtime?.Dispose();
    }
}
