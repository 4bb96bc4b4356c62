namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// How many DTLS handshakes may run at once (<see cref="MediaOptions.MaxPendingDtlsHandshakes"/>). Each holds a thread
/// of its own until it ends, so a burst of ClientHellos (or peers that start a handshake and never finish it) must not
/// make threads without bound. A transport takes a slot on its first ClientHello and returns it when the handshake
/// ends, whatever the outcome; a ClientHello that finds no slot is dropped and counted, and the browser's
/// retransmission (RFC 6347 §4.2.4: after 1 s, then doubling) tries again.
/// </summary>
internal sealed class DtlsHandshakeSlots
{
    private readonly int _capacity;
    private int _inUse;

    public DtlsHandshakeSlots(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public int Capacity => _capacity;

    public int InUse => Volatile.Read(ref _inUse);

    public bool TryTake()
    {
        while (true)
        {
            var inUse = Volatile.Read(ref _inUse);
            if (inUse >= _capacity)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _inUse, inUse + 1, inUse) == inUse)
            {
                return true;
            }
        }
    }

    public void Return() => Interlocked.Decrement(ref _inUse);
}
