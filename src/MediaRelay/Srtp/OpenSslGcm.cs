using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// AES-GCM with a 16-byte tag through OpenSSL 3's EVP interface directly: one cipher context for encryption and one
/// for decryption, each given the cipher and key once, then per packet only a new IV, the AAD, the data and the tag.
/// </summary>
/// <remarks>
/// The same library and cipher code that <see cref="AesGcm"/> reaches on Linux, without its per-call work: each of its
/// calls into OpenSSL first clears the thread's error queue (<c>ERR_clear_error</c>, which empties sixteen slots) and
/// sets the IV length and the key again. Profiled at 100 sessions that was about 9 % of the relay's CPU, more than
/// the ciphering itself. Here the queue is cleared only after a call failed (a forged tag), so the next caller of
/// OpenSSL on the thread does not see a stale error. Not thread-safe: one packet at a time, as the transform using it.
/// </remarks>
internal sealed unsafe partial class OpenSslGcm : IGcmCipher
{
    public const int TagLength = 16;

    private const string LibCrypto = "libcrypto.so.3";
    private const int CtrlAeadGetTag = 0x10; // EVP_CTRL_AEAD_GET_TAG
    private const int CtrlAeadSetTag = 0x11; // EVP_CTRL_AEAD_SET_TAG
    private const int KeepDirection = -1;

    private static readonly Lazy<bool> Available = new(Probe);

    private readonly CipherContext _encrypt;
    private readonly CipherContext _decrypt;

    private OpenSslGcm(ReadOnlySpan<byte> key)
    {
        var cipher = key.Length switch
        {
            16 => Aes128Gcm(),
            32 => Aes256Gcm(),
            _ => throw new ArgumentException("An AES-GCM key is 16 or 32 bytes.", nameof(key)),
        };
        _encrypt = NewContext(cipher, key, encrypt: 1);
        try
        {
            _decrypt = NewContext(cipher, key, encrypt: 0);
        }
        catch
        {
            _encrypt.Dispose();
            throw;
        }
    }

    /// <summary>True where OpenSSL 3's libcrypto can be loaded (Linux with the library the runtime itself uses).</summary>
    public static bool IsSupported => Available.Value;

    /// <summary>A GCM instance for <paramref name="key"/> (16 or 32 bytes), or null where OpenSSL 3 is not available.</summary>
    public static OpenSslGcm? TryCreate(ReadOnlySpan<byte> key) => IsSupported ? new OpenSslGcm(key) : null;

    /// <inheritdoc/>
    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        if (!Run(_encrypt, encrypt: true, nonce, plaintext, ciphertext, tag, associatedData))
        {
            throw new CryptographicException("AES-GCM encryption failed in OpenSSL.");
        }
    }

    /// <inheritdoc/>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData) =>
        Run(_decrypt, encrypt: false, nonce, ciphertext, plaintext, tag, associatedData);

    /// <summary>
    /// One packet: the IV, the AAD (an update with no output), the data, then the tag: written into
    /// <paramref name="tag"/> after the final call when encrypting (<see cref="Encrypt"/> passes its writable span), given
    /// to OpenSSL before the final call when decrypting, which then checks it.
    /// </summary>
    private static bool Run(CipherContext context, bool encrypt, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        Check(nonce, input.Length, output.Length, tag.Length);

        // One reference on the context for the whole packet rather than one per call into OpenSSL (five of them).
        var added = false;
        context.DangerousAddRef(ref added);
        try
        {
            return Run(context.DangerousGetHandle(), encrypt, nonce, input, output, tag, associatedData);
        }
        finally
        {
            context.DangerousRelease();
        }
    }

    private static bool Run(nint context, bool encrypt, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        // With no output buffer, EVP_CipherUpdate takes its input as associated data.
        fixed (byte* iv = nonce)
        fixed (byte* data = input)
        fixed (byte* result = output)
        fixed (byte* aad = associatedData)
        fixed (byte* tagBytes = tag)
        {
            byte final = 0;
            bool ok = CipherInit(context, 0, 0, null, iv, KeepDirection) == 1
                && (associatedData.Length == 0 || CipherUpdate(context, null, out _, aad, associatedData.Length) == 1)
                && (input.Length == 0 || (CipherUpdate(context, result, out var written, data, input.Length) == 1 && written == input.Length))
                && (encrypt
                    ? CipherFinal(context, &final, out _) == 1 && CipherCtrl(context, CtrlAeadGetTag, TagLength, tagBytes) == 1
                    : CipherCtrl(context, CtrlAeadSetTag, TagLength, tagBytes) == 1 && CipherFinal(context, &final, out _) == 1);
            if (!ok)
            {
                ClearErrors();

                // OpenSSL decrypts before the final call checks the tag: leave no unauthenticated plaintext behind
                // (the runtime's AesGcm clears it the same way).
                CryptographicOperations.ZeroMemory(output);
            }

            return ok;
        }
    }

    public void Dispose()
    {
        _encrypt.Dispose();
        _decrypt.Dispose();
    }

    private static void Check(ReadOnlySpan<byte> nonce, int inputLength, int outputLength, int tagLength)
    {
        if (nonce.Length != 12)
        {
            throw new ArgumentException("The nonce is 12 bytes.", nameof(nonce));
        }

        if (outputLength != inputLength)
        {
            throw new ArgumentException("The output is as long as the input.", nameof(outputLength));
        }

        if (tagLength != TagLength)
        {
            throw new ArgumentException("The tag is 16 bytes.", nameof(tagLength));
        }
    }

    private static CipherContext NewContext(nint cipher, ReadOnlySpan<byte> key, int encrypt)
    {
        var context = NewCipherContext();
        if (context.IsInvalid)
        {
            context.Dispose();
            throw new CryptographicException("OpenSSL could not allocate a cipher context.");
        }

        fixed (byte* keyBytes = key)
        {
            // The IV is set per packet; GCM's default IV length is the 12 bytes SRTP uses.
            if (CipherInit(context.DangerousGetHandle(), cipher, 0, keyBytes, null, encrypt) != 1)
            {
                context.Dispose();
                ClearErrors();
                throw new CryptographicException("OpenSSL refused the AES-GCM key.");
            }
        }

        return context;
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(LibCrypto, out var library))
        {
            return false;
        }

        try
        {
            foreach (var name in new[] { "EVP_aes_128_gcm", "EVP_aes_256_gcm", "EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free", "EVP_CipherInit_ex", "EVP_CipherUpdate", "EVP_CipherFinal_ex", "EVP_CIPHER_CTX_ctrl", "ERR_clear_error" })
            {
                if (!NativeLibrary.TryGetExport(library, name, out _))
                {
                    return false;
                }
            }

            return Aes128Gcm() != 0 && Aes256Gcm() != 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport(LibCrypto, EntryPoint = "EVP_aes_128_gcm")]
    private static partial nint Aes128Gcm();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_aes_256_gcm")]
    private static partial nint Aes256Gcm();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CIPHER_CTX_new")]
    private static partial CipherContext NewCipherContext();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CIPHER_CTX_free")]
    private static partial void FreeCipherContext(nint context);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CipherInit_ex")]
    private static partial int CipherInit(nint context, nint cipher, nint engine, byte* key, byte* iv, int encrypt);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CipherUpdate")]
    private static partial int CipherUpdate(nint context, byte* output, out int written, byte* input, int length);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CipherFinal_ex")]
    private static partial int CipherFinal(nint context, byte* output, out int written);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CIPHER_CTX_ctrl")]
    private static partial int CipherCtrl(nint context, int type, int argument, void* pointer);

    [LibraryImport(LibCrypto, EntryPoint = "ERR_clear_error")]
    private static partial void ClearErrors();

    /// <summary>An <c>EVP_CIPHER_CTX*</c>; freed (and its key schedule cleansed by OpenSSL) when released.</summary>
    private sealed class CipherContext : SafeHandle
    {
        public CipherContext()
            : base(0, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            FreeCipherContext(handle);
            return true;
        }
    }
}
