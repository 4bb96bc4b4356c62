namespace Teletherapy.MediaRelay.Tests.Fuzzing;

/// <summary>
/// Derives malformed inputs from valid ones, seeded so failures reproduce: bit flips, truncation, extension,
/// rewritten length fields, random bytes and splices of two seeds.
/// </summary>
internal sealed class PacketMutator
{
    private readonly Random _random;
    private readonly byte[][] _seeds;
    private readonly int[] _lengthOffsets;

    public PacketMutator(int seed, IEnumerable<byte[]> seeds, params int[] lengthOffsets)
    {
        _random = new Random(seed);
        _seeds = seeds.ToArray();
        _lengthOffsets = lengthOffsets;
    }

    public Random Random => _random;

    public byte[] Next()
    {
        int strategy = _random.Next(10);
        if (strategy == 0)
        {
            byte[] noise = new byte[_random.Next(0, 128)];
            _random.NextBytes(noise);
            return noise;
        }

        byte[] data = (byte[])_seeds[_random.Next(_seeds.Length)].Clone();
        int rounds = 1 + _random.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            data = Mutate(data, _random.Next(1, 10));
        }

        return data;
    }

    private byte[] Mutate(byte[] data, int strategy)
    {
        switch (strategy)
        {
            case 1 or 2 when data.Length > 0:
                int flips = 1 + _random.Next(4);
                for (int i = 0; i < flips; i++)
                {
                    data[_random.Next(data.Length)] ^= (byte)(1 << _random.Next(8));
                }

                return data;
            case 3:
                return data.AsSpan(0, _random.Next(data.Length + 1)).ToArray();
            case 4:
                byte[] longer = new byte[data.Length + _random.Next(1, 16)];
                data.CopyTo(longer, 0);
                _random.NextBytes(longer.AsSpan(data.Length));
                return longer;
            case 5 or 6 when _lengthOffsets.Length > 0:
                // Each offset may point into any packet of a compound datagram, so also try multiples of 4 from it.
                int offset = _lengthOffsets[_random.Next(_lengthOffsets.Length)];
                if (data.Length > 4 && _random.Next(2) == 0)
                {
                    offset += 4 * _random.Next(data.Length / 4);
                }

                if (offset + 1 < data.Length)
                {
                    int delta = _random.Next(3) switch { 0 => 1, 1 => -1, _ => _random.Next(-0x8000, 0x8000) };
                    int value = ((data[offset] << 8) | data[offset + 1]) + delta;
                    data[offset] = (byte)(value >> 8);
                    data[offset + 1] = (byte)value;
                }

                return data;
            case 7 when data.Length > 0:
                data[_random.Next(data.Length)] = (byte)_random.Next(256);
                return data;
            case 8:
                byte[] other = _seeds[_random.Next(_seeds.Length)];
                int cut = _random.Next(data.Length + 1);
                int from = _random.Next(other.Length + 1);
                return [.. data.AsSpan(0, cut), .. other.AsSpan(from)];
            default:
                if (data.Length > 0)
                {
                    data[_random.Next(data.Length)] = (byte)_random.Next(4) switch { 0 => 0x00, 1 => 0xFF, 2 => 0x80, _ => 0x7F };
                }

                return data;
        }
    }
}
