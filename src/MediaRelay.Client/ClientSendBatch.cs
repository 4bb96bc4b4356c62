using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// What one thread sends through <see cref="ClientUdpPort"/>s, gathered and sent with one <c>sendmmsg(2)</c> a port
/// when the thread calls <see cref="Flush"/> (the load generator's pacer, once a wake-up), instead of a system call a
/// datagram. Each datagram is copied into memory allocated once, so the caller's buffer is free again at once. Not
/// thread-safe: one owner thread. A full batch, or a datagram for another port, sends what is gathered first.
/// </summary>
internal sealed unsafe class ClientSendBatch : IDisposable
{
    private readonly MMsgSlots _slots = new(LinuxUdpBatch.Capacity, LinuxUdpBatch.SlotBytes, ClientUdpPort.SockaddrInBytes, ClientUdpPort.PacketInfoSpace);
    private ClientUdpPort? _port;
    private int _count;
    private bool _disposed;

    public ClientSendBatch()
    {
        // Every slot always carries a destination and a source; only the data length changes from send to send.
        for (var i = 0; i < _slots.Count; i++)
        {
            _slots.Headers[i].Header.NameLength = ClientUdpPort.SockaddrInBytes;
        }
    }

    /// <summary>Datagrams queued and not yet sent.</summary>
    public int Pending => _count;

    /// <summary>Datagrams the kernel took so far.</summary>
    public long Sent { get; private set; }

    /// <summary>Datagrams the kernel refused so far (the port closed, or its send buffer full).</summary>
    public long Failed { get; private set; }

    /// <summary>System calls made so far (with <see cref="Sent"/>: how many datagrams each took).</summary>
    public long Calls { get; private set; }

    /// <summary>
    /// Queues <paramref name="datagram"/> from <paramref name="registration"/>'s address to its remote. False, and
    /// nothing queued, when the registration was removed or the datagram is larger than a slot: send it at once instead.
    /// </summary>
    public bool TryQueue(ClientUdpPort.Registration registration, ReadOnlySpan<byte> datagram)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (registration.IsRemoved || datagram.Length > _slots.SlotBytes)
        {
            return false;
        }

        if (_count == _slots.Count || (_count > 0 && _port != registration.Port))
        {
            Flush();
        }

        _port = registration.Port;
        ClientUdpPort.WriteAddresses(registration, _slots.Name(_count), _slots.Control(_count));
        datagram.CopyTo(_slots.Data(_count));
        _slots.SetSendLength(_count, datagram.Length);
        _count++;
        return true;
    }

    /// <summary>Sends everything queued; returns the datagrams the kernel took.</summary>
    public int Flush()
    {
        var port = _port;
        var count = _count;
        _count = 0;
        if (port is null || count == 0)
        {
            return 0;
        }

        var done = 0;
        var taken = 0;
        while (done < count)
        {
            Calls++;
            var result = port.SendMessages(_slots.Headers + done, count - done);
            if (result <= 0)
            {
                // The first unsent datagram was refused (sendmmsg(2) reports only that): it is dropped, the rest go on.
                Failed++;
                done++;
                continue;
            }

            done += result;
            taken += result;
        }

        Sent += taken;
        return taken;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _count = 0;
            _slots.Dispose();
        }
    }
}
