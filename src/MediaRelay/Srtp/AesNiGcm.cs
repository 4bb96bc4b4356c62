using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Aes = System.Runtime.Intrinsics.X86.Aes;
using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// AES-GCM with a 12-byte nonce and a 16-byte tag (NIST SP 800-38D) computed in the process with the processor's AES
/// round and carry-less multiply instructions: the key schedule and the hash key's first nine powers are made once
/// per key, and a packet is then only its counter blocks, its hash and its tag, with no call out of the process.
/// </summary>
/// <remarks>
/// For SRTP's packets, a few dozen to 1,200 bytes, the ciphering itself is a small part of what a general-purpose
/// library costs per call (OpenSSL 3's EVP layer looks its parameters up by name on each call); here the fixed cost
/// is one block for the tag's mask and one multiplication for the lengths. Eight counter blocks are ciphered side by
/// side and their ciphertext hashed with one reduction (the hash key's powers H⁸…H¹), four blocks a multiply where
/// the processor has 512-bit carry-less multiplies (AVX-512 with VPCLMULQDQ). Both instructions run in
/// constant time; the tag is compared with <see cref="CryptographicOperations.FixedTimeEquals"/>, and a refused
/// packet's output is zeroed, since decryption runs before the tag is checked. Not thread-safe: one packet at a time,
/// as the transform using it.
/// </remarks>
internal sealed class AesNiGcm : IGcmCipher
{
    public const int TagLength = 16;
    private const int NonceLength = 12;
    private const int Block = 16;
    private const int Powers = 9;

    // Reverses a block's bytes: the hash works on blocks read as 128-bit numbers with the first byte highest.
    private static readonly Vector128<byte> Reverse = Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);

    // 0…15 then sixteen 0x80: 16 bytes from offset 16 − n shuffle a block's last n bytes to its start, zeros after.
    private static ReadOnlySpan<byte> Tail => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80];

    private static readonly Vector512<byte> Reverse4 = Vector512.Create(Vector256.Create(Reverse, Reverse), Vector256.Create(Reverse, Reverse));

    private readonly Vector128<byte>[] _roundKeys;
    private readonly int _rounds;

    // H¹…H⁹ in the hash's byte order (reversed): _powers[i] is H^(i+1). The last eight blocks and the lengths block
    // take up to H⁹.
    private readonly Vector128<ulong>[] _powers = new Vector128<ulong>[Powers];

    // With 512-bit carry-less multiplies, four blocks' products at once: (H⁸, H⁷, H⁶, H⁵) and (H⁴, H³, H², H¹).
    private readonly bool _wide;
    private Vector512<ulong> _powers8To5;
    private Vector512<ulong> _powers4To1;
    private bool _disposed;

    private AesNiGcm(ReadOnlySpan<byte> key, bool wide)
    {
        _rounds = key.Length switch
        {
            16 => 10,
            32 => 14,
            _ => throw new ArgumentException("An AES-GCM key is 16 or 32 bytes.", nameof(key)),
        };
        _roundKeys = new Vector128<byte>[_rounds + 1];
        if (key.Length == 16)
        {
            ExpandKey128(key, _roundKeys);
        }
        else
        {
            ExpandKey256(key, _roundKeys);
        }

        var h = Ssse3.Shuffle(EncryptBlock(Vector128<byte>.Zero), Reverse).AsUInt64();
        _powers[0] = h;
        for (var i = 1; i < Powers; i++)
        {
            _powers[i] = Multiply(_powers[i - 1], h);
        }

        _wide = wide && IsWideSupported;
        if (_wide)
        {
            _powers8To5 = Vector512.Create(Vector256.Create(_powers[7], _powers[6]), Vector256.Create(_powers[5], _powers[4]));
            _powers4To1 = Vector512.Create(Vector256.Create(_powers[3], _powers[2]), Vector256.Create(_powers[1], _powers[0]));
        }
    }

    /// <summary>True where the processor has the AES and carry-less multiply instructions (x86-64 with AES-NI).</summary>
    public static bool IsSupported => Aes.IsSupported && Pclmulqdq.IsSupported && Ssse3.IsSupported;

    /// <summary>True where the hash can also multiply four blocks at once (AVX-512 with VPCLMULQDQ).</summary>
    public static bool IsWideSupported => IsSupported && Pclmulqdq.V512.IsSupported && Avx512BW.IsSupported;

    /// <summary>
    /// A GCM instance for <paramref name="key"/> (16 or 32 bytes), or null where the instructions are missing.
    /// <paramref name="wide"/> false keeps the hash to 128-bit multiplies even where 512-bit ones exist (for tests).
    /// </summary>
    public static AesNiGcm? TryCreate(ReadOnlySpan<byte> key, bool wide = true) => IsSupported ? new AesNiGcm(key, wide) : null;

    /// <summary>Whether this instance hashes four blocks per multiply.</summary>
    public bool IsWide => _wide;

    /// <inheritdoc/>
    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        Check(nonce, plaintext.Length, ciphertext.Length, tag.Length);
        var hash = HashAssociatedData(associatedData);
        Cipher(nonce, plaintext, ciphertext, hash, associatedData.Length, encrypting: true)
            .StoreUnsafe(ref MemoryMarshal.GetReference(tag));
    }

    /// <inheritdoc/>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Check(nonce, ciphertext.Length, plaintext.Length, tag.Length);
        var hash = HashAssociatedData(associatedData);
        var expected = Cipher(nonce, ciphertext, plaintext, hash, associatedData.Length, encrypting: false);
        if (CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(new ReadOnlySpan<Vector128<byte>>(ref expected)), tag))
        {
            return true;
        }

        CryptographicOperations.ZeroMemory(plaintext);
        return false;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_roundKeys.AsSpan()));
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_powers.AsSpan()));
        _powers8To5 = default;
        _powers4To1 = default;
    }

    private void Check(ReadOnlySpan<byte> nonce, int inputLength, int outputLength, int tagLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (nonce.Length != NonceLength)
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

    /// <summary>
    /// The hash of the associated data (an RTP header: one to three blocks, the last usually partial): the blocks
    /// before the last eight at a time, then the rest and the last block with one reduction.
    /// </summary>
    private Vector128<ulong> HashAssociatedData(ReadOnlySpan<byte> data)
    {
        var hash = Vector128<ulong>.Zero;
        if (data.IsEmpty)
        {
            return hash;
        }

        ref var start = ref MemoryMarshal.GetReference(data);
        var leading = ((data.Length + Block - 1) / Block) - 1;
        var at = 0;
        for (; leading > 8; leading -= 8, at += 8 * Block)
        {
            hash = HashEight(ref Unsafe.Add(ref start, at), hash);
        }

        return HashThen(ref Unsafe.Add(ref start, at), leading, hash, Reversed(LastBlock(data)));
    }

    /// <summary>
    /// The data's last block, zero-padded when partial. With at least a block of data it is read as the data's last 16
    /// bytes and moved down into place by a byte shuffle (the mask for n bytes is <see cref="Tail"/> from 16 − n: the
    /// indices of the n bytes, then 0x80, which the shuffle turns into zero); shorter data is copied.
    /// </summary>
    private static Vector128<byte> LastBlock(ReadOnlySpan<byte> data)
    {
        var partial = data.Length % Block;
        ref var start = ref MemoryMarshal.GetReference(data);
        if (partial == 0)
        {
            return Vector128.LoadUnsafe(ref start, (nuint)(data.Length - Block));
        }

        if (data.Length > Block)
        {
            var mask = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(Tail), (nuint)(Block - partial));
            return Ssse3.Shuffle(Vector128.LoadUnsafe(ref start, (nuint)(data.Length - Block)), mask);
        }

        Span<byte> block = stackalloc byte[Block];
        block.Clear();
        data.CopyTo(block);
        return Vector128.Create((ReadOnlySpan<byte>)block);
    }

    /// <summary>
    /// Counter mode from the nonce's second counter block, hashing the ciphertext as it goes (what is written when
    /// encrypting, what is read when decrypting; each group of blocks is read before any of it is written, so the
    /// same span can be both), and the tag: groups of eight blocks, then what is left (<see cref="Finish"/>).
    /// </summary>
    private Vector128<byte> Cipher(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output, Vector128<ulong> hash, int associatedLength, bool encrypting)
    {
        var nonceWords = Vector128.Create(
            BinaryPrimitives.ReadUInt32LittleEndian(nonce),
            BinaryPrimitives.ReadUInt32LittleEndian(nonce[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(nonce[8..]),
            0u);
        uint counter = 2;
        ref var source = ref MemoryMarshal.GetReference(input);
        ref var target = ref MemoryMarshal.GetReference(output);
        var at = 0;
        for (; input.Length - at >= 8 * Block; at += 8 * Block, counter += 8)
        {
            // The ciphertext hashed: read before ciphering when decrypting (the output may be the input), after when
            // encrypting.
            ref var ciphertext = ref Unsafe.Add(ref encrypting ? ref target : ref source, at);
            if (!encrypting)
            {
                hash = HashEight(ref ciphertext, hash);
            }

            CounterEight(nonceWords, counter, ref Unsafe.Add(ref source, at), ref Unsafe.Add(ref target, at));
            if (encrypting)
            {
                hash = HashEight(ref ciphertext, hash);
            }
        }

        return Finish(nonceWords, input[at..], output[at..], counter, hash, associatedLength, input.Length, encrypting);
    }

    /// <summary>
    /// What is left after the groups of eight (0–127 bytes: up to eight blocks, the last perhaps partial), the lengths
    /// block and the tag: ciphered as one more group of eight in a zero-padded copy.
    /// </summary>
    private Vector128<byte> Finish(Vector128<uint> nonceWords, ReadOnlySpan<byte> input, Span<byte> output, uint counter, Vector128<ulong> hash, int associatedLength, int textLength, bool encrypting)
    {
        // Zero-padded copies: the padding is what the hash takes after a partial block's bytes.
        Span<byte> buffer = stackalloc byte[8 * Block];
        buffer.Clear();
        input.CopyTo(buffer);
        ref var bytes = ref MemoryMarshal.GetReference(buffer);
        var blocks = (input.Length + Block - 1) / Block;

        // Decrypting, the input is the ciphertext the hash takes, and may be the output too: hashed before writing.
        if (!encrypting)
        {
            hash = HashLast(ref bytes, blocks, hash, associatedLength, textLength);
        }

        var mask = EncryptBlock(CounterBlock(nonceWords, 1));
        CounterEight(nonceWords, counter, ref bytes, ref bytes);
        buffer[..input.Length].CopyTo(output);
        if (encrypting)
        {
            // The ciphertext just written, zero-padded.
            buffer[input.Length..].Clear();
            hash = HashLast(ref bytes, blocks, hash, associatedLength, textLength);
        }

        return mask ^ Ssse3.Shuffle(hash.AsByte(), Reverse);
    }

    /// <summary>
    /// The hash of the last n (≤ 8) zero-padded blocks at <paramref name="bytes"/> and the lengths block. The lengths
    /// block, in bits, big-endian, read reversed is the number (aadBits &lt;&lt; 64) | textBits.
    /// </summary>
    private Vector128<ulong> HashLast(ref byte bytes, int blocks, Vector128<ulong> hash, int associatedLength, int textLength) =>
        HashThen(ref bytes, blocks, hash, Vector128.Create((ulong)textLength * 8, (ulong)associatedLength * 8));

    /// <summary>
    /// (hash + b0)·H^(n+1) + b1·H^n + … + bₙ₋₁·H² + <paramref name="final"/>·H¹ for the <paramref name="count"/>
    /// (n ≤ 8) blocks at <paramref name="bytes"/> and one more block already in the hash's byte order (hash + final
    /// when n is 0), reduced once: the same as n + 1 steps of (hash + block)·H.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<ulong> HashThen(ref byte bytes, int count, Vector128<ulong> hash, Vector128<ulong> final)
    {
        var lo = Vector128<ulong>.Zero;
        var mid = Vector128<ulong>.Zero;
        var hi = Vector128<ulong>.Zero;
        ref var powers = ref MemoryMarshal.GetArrayDataReference(_powers);
        for (var i = 0; i < count; i++)
        {
            MultiplyAdd(hash ^ Reversed(Vector128.LoadUnsafe(ref bytes, (nuint)(i * Block))), Unsafe.Add(ref powers, count - i), ref lo, ref mid, ref hi);
            hash = Vector128<ulong>.Zero;
        }

        MultiplyAdd(hash ^ final, powers, ref lo, ref mid, ref hi);
        return Reduce(lo, mid, hi);
    }

    /// <summary>
    /// Eight counter blocks from <paramref name="counter"/> ciphered side by side (as many as keep the AES units busy)
    /// and added to 128 bytes at <paramref name="source"/> into <paramref name="target"/>; all eight are read before
    /// any is written, so the two may be the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CounterEight(Vector128<uint> nonceWords, uint counter, ref byte source, ref byte target)
    {
        ref var keys = ref MemoryMarshal.GetArrayDataReference(_roundKeys);
        var k = keys;
        var b0 = CounterBlock(nonceWords, counter) ^ k;
        var b1 = CounterBlock(nonceWords, counter + 1) ^ k;
        var b2 = CounterBlock(nonceWords, counter + 2) ^ k;
        var b3 = CounterBlock(nonceWords, counter + 3) ^ k;
        var b4 = CounterBlock(nonceWords, counter + 4) ^ k;
        var b5 = CounterBlock(nonceWords, counter + 5) ^ k;
        var b6 = CounterBlock(nonceWords, counter + 6) ^ k;
        var b7 = CounterBlock(nonceWords, counter + 7) ^ k;
        for (var round = 1; round < _rounds; round++)
        {
            k = Unsafe.Add(ref keys, round);
            b0 = Aes.Encrypt(b0, k);
            b1 = Aes.Encrypt(b1, k);
            b2 = Aes.Encrypt(b2, k);
            b3 = Aes.Encrypt(b3, k);
            b4 = Aes.Encrypt(b4, k);
            b5 = Aes.Encrypt(b5, k);
            b6 = Aes.Encrypt(b6, k);
            b7 = Aes.Encrypt(b7, k);
        }

        k = Unsafe.Add(ref keys, _rounds);
        var i0 = Vector128.LoadUnsafe(ref source, 0);
        var i1 = Vector128.LoadUnsafe(ref source, Block);
        var i2 = Vector128.LoadUnsafe(ref source, 2 * Block);
        var i3 = Vector128.LoadUnsafe(ref source, 3 * Block);
        var i4 = Vector128.LoadUnsafe(ref source, 4 * Block);
        var i5 = Vector128.LoadUnsafe(ref source, 5 * Block);
        var i6 = Vector128.LoadUnsafe(ref source, 6 * Block);
        var i7 = Vector128.LoadUnsafe(ref source, 7 * Block);
        (Aes.EncryptLast(b0, k) ^ i0).StoreUnsafe(ref target, 0);
        (Aes.EncryptLast(b1, k) ^ i1).StoreUnsafe(ref target, Block);
        (Aes.EncryptLast(b2, k) ^ i2).StoreUnsafe(ref target, 2 * Block);
        (Aes.EncryptLast(b3, k) ^ i3).StoreUnsafe(ref target, 3 * Block);
        (Aes.EncryptLast(b4, k) ^ i4).StoreUnsafe(ref target, 4 * Block);
        (Aes.EncryptLast(b5, k) ^ i5).StoreUnsafe(ref target, 5 * Block);
        (Aes.EncryptLast(b6, k) ^ i6).StoreUnsafe(ref target, 6 * Block);
        (Aes.EncryptLast(b7, k) ^ i7).StoreUnsafe(ref target, 7 * Block);
    }

    /// <summary>
    /// (hash + c0)·H⁸ + c1·H⁷ + … + c7·H¹ for the eight blocks at <paramref name="ciphertext"/>, reduced once: the same
    /// as eight steps of (hash + c)·H. Four blocks a multiply where the processor has 512-bit carry-less multiplies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<ulong> HashEight(ref byte ciphertext, Vector128<ulong> hash)
    {
        if (_wide)
        {
            var lo = Vector512<ulong>.Zero;
            var mid = Vector512<ulong>.Zero;
            var hi = Vector512<ulong>.Zero;
            var first = Avx512BW.Shuffle(Vector512.LoadUnsafe(ref ciphertext, 0), Reverse4).AsUInt64() ^ hash.ToVector256().ToVector512();
            MultiplyAdd(first, _powers8To5, ref lo, ref mid, ref hi);
            MultiplyAdd(Avx512BW.Shuffle(Vector512.LoadUnsafe(ref ciphertext, 4 * Block), Reverse4).AsUInt64(), _powers4To1, ref lo, ref mid, ref hi);
            return Reduce(Fold(lo), Fold(mid), Fold(hi));
        }

        // Seven blocks from H⁸ down, the eighth with H¹.
        return HashThen(ref ciphertext, 7, hash, Reversed(Vector128.LoadUnsafe(ref ciphertext, 7 * Block)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> CounterBlock(Vector128<uint> nonceWords, uint counter) =>
        nonceWords.WithElement(3, BinaryPrimitives.ReverseEndianness(counter)).AsByte();

    private Vector128<byte> EncryptBlock(Vector128<byte> block)
    {
        ref var keys = ref MemoryMarshal.GetArrayDataReference(_roundKeys);
        block ^= keys;
        for (var round = 1; round < _rounds; round++)
        {
            block = Aes.Encrypt(block, Unsafe.Add(ref keys, round));
        }

        return Aes.EncryptLast(block, Unsafe.Add(ref keys, _rounds));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Reversed(Vector128<byte> block) => Ssse3.Shuffle(block, Reverse).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Fold(Vector512<ulong> lanes)
    {
        var half = lanes.GetLower() ^ lanes.GetUpper();
        return half.GetLower() ^ half.GetUpper();
    }

    /// <summary>Adds four 256-bit carry-less products, lane by lane, to (hi, mid, lo).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(Vector512<ulong> a, Vector512<ulong> b, ref Vector512<ulong> lo, ref Vector512<ulong> mid, ref Vector512<ulong> hi)
    {
        lo ^= Pclmulqdq.V512.CarrylessMultiply(a, b, 0x00);
        hi ^= Pclmulqdq.V512.CarrylessMultiply(a, b, 0x11);
        mid ^= Pclmulqdq.V512.CarrylessMultiply(a, b, 0x10) ^ Pclmulqdq.V512.CarrylessMultiply(a, b, 0x01);
    }

    /// <summary>a·b in GF(2¹²⁸) with GCM's polynomial, both in the hash's reversed byte order.</summary>
    private static Vector128<ulong> Multiply(Vector128<ulong> a, Vector128<ulong> b)
    {
        var lo = Vector128<ulong>.Zero;
        var mid = Vector128<ulong>.Zero;
        var hi = Vector128<ulong>.Zero;
        MultiplyAdd(a, b, ref lo, ref mid, ref hi);
        return Reduce(lo, mid, hi);
    }

    /// <summary>Adds the 256-bit carry-less product a·b to (hi, mid, lo): the product's halves and its middle terms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(Vector128<ulong> a, Vector128<ulong> b, ref Vector128<ulong> lo, ref Vector128<ulong> mid, ref Vector128<ulong> hi)
    {
        lo ^= Pclmulqdq.CarrylessMultiply(a, b, 0x00);
        hi ^= Pclmulqdq.CarrylessMultiply(a, b, 0x11);
        mid ^= Pclmulqdq.CarrylessMultiply(a, b, 0x10) ^ Pclmulqdq.CarrylessMultiply(a, b, 0x01);
    }

    /// <summary>
    /// The 256-bit carry-less product reduced modulo x¹²⁸ + x⁷ + x² + x + 1. With both factors bit-reflected the
    /// product comes out one bit short, so it is first shifted left by one, then the low half folded into the high.
    /// Both steps are linear, so a sum of products is reduced once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Reduce(Vector128<ulong> lo, Vector128<ulong> mid, Vector128<ulong> hi)
    {
        var low = (lo ^ Sse2.ShiftLeftLogical128BitLane(mid, 8)).AsUInt32();
        var high = (hi ^ Sse2.ShiftRightLogical128BitLane(mid, 8)).AsUInt32();

        // Shift the 256 bits high:low left by one.
        var lowCarries = Sse2.ShiftRightLogical(low, 31);
        var highCarries = Sse2.ShiftRightLogical(high, 31);
        low = Sse2.ShiftLeftLogical(low, 1) | Sse2.ShiftLeftLogical128BitLane(lowCarries, 4);
        high = Sse2.ShiftLeftLogical(high, 1) | Sse2.ShiftLeftLogical128BitLane(highCarries, 4) | Sse2.ShiftRightLogical128BitLane(lowCarries, 12);

        // Fold the low half in: its multiples by x⁷ + x² + x + 1, in the reflected order.
        var left = Sse2.ShiftLeftLogical(low, 31) ^ Sse2.ShiftLeftLogical(low, 30) ^ Sse2.ShiftLeftLogical(low, 25);
        var spill = Sse2.ShiftRightLogical128BitLane(left, 4);
        low ^= Sse2.ShiftLeftLogical128BitLane(left, 12);
        var right = Sse2.ShiftRightLogical(low, 1) ^ Sse2.ShiftRightLogical(low, 2) ^ Sse2.ShiftRightLogical(low, 7) ^ spill;
        return (high ^ low ^ right).AsUInt64();
    }

    private static void ExpandKey128(ReadOnlySpan<byte> key, Vector128<byte>[] roundKeys)
    {
        var k = Vector128.Create(key);
        roundKeys[0] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x01)); roundKeys[1] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x02)); roundKeys[2] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x04)); roundKeys[3] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x08)); roundKeys[4] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x10)); roundKeys[5] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x20)); roundKeys[6] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x40)); roundKeys[7] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x80)); roundKeys[8] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x1B)); roundKeys[9] = k;
        k = Next128(k, Aes.KeygenAssist(k, 0x36)); roundKeys[10] = k;
    }

    private static void ExpandKey256(ReadOnlySpan<byte> key, Vector128<byte>[] roundKeys)
    {
        var a = Vector128.Create(key[..16]);
        var b = Vector128.Create(key[16..]);
        roundKeys[0] = a;
        roundKeys[1] = b;
        ReadOnlySpan<byte> rcon = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40];
        for (var i = 0; i < rcon.Length; i++)
        {
            // Rcon must be a constant for the instruction; the switch gives it one per step.
            a = Next128(a, AssistWithRcon(b, rcon[i]));
            roundKeys[2 + (2 * i)] = a;
            if (i == rcon.Length - 1)
            {
                break;
            }

            // The odd words: SubWord without rotation or round constant (the assist's third word).
            b = Mix(b, Sse2.Shuffle(Aes.KeygenAssist(a, 0x00).AsUInt32(), 0xAA).AsByte());
            roundKeys[3 + (2 * i)] = b;
        }
    }

    private static Vector128<byte> AssistWithRcon(Vector128<byte> k, byte rcon) => rcon switch
    {
        0x01 => Aes.KeygenAssist(k, 0x01),
        0x02 => Aes.KeygenAssist(k, 0x02),
        0x04 => Aes.KeygenAssist(k, 0x04),
        0x08 => Aes.KeygenAssist(k, 0x08),
        0x10 => Aes.KeygenAssist(k, 0x10),
        0x20 => Aes.KeygenAssist(k, 0x20),
        _ => Aes.KeygenAssist(k, 0x40),
    };

    // w[i] = w[i-4] ^ RotWord/SubWord(w[i-1]) ^ rcon for the first word, then each word ^ the one before: the assist's
    // fourth word broadcast and a prefix XOR of the previous round key's words.
    private static Vector128<byte> Next128(Vector128<byte> previous, Vector128<byte> assist) =>
        Mix(previous, Sse2.Shuffle(assist.AsUInt32(), 0xFF).AsByte());

    private static Vector128<byte> Mix(Vector128<byte> previous, Vector128<byte> broadcast)
    {
        // (w0, w1, w2, w3) → (w0, w0^w1, w0^w1^w2, w0^w1^w2^w3).
        var k = previous ^ Sse2.ShiftLeftLogical128BitLane(previous, 4);
        k ^= Sse2.ShiftLeftLogical128BitLane(k, 8);
        return k ^ broadcast;
    }
}
