using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// A lossy, slow link between one browser and the relay, on loopback: a UDP forwarder that drops a share of the
/// datagrams in each direction (seeded, so runs are comparable) and delays the rest by a fixed time. The browser is
/// handed the relay's SDP with this forwarder's port as the candidate, so all its media, STUN and DTLS cross the link.
/// It stands in for <c>tc qdisc … netem loss 5% delay 50ms</c> on kernels without sch_netem (the kernel here has tbf and
/// htb but neither netem nor gact), and needs no privileges.
/// </summary>
public sealed partial class ImpairedUdpLink : IDisposable
{
    private readonly Socket _front;
    private readonly IPEndPoint _relay;
    private readonly double _loss;
    private readonly TimeSpan _delay;
    private readonly Random _random;
    private readonly Dictionary<EndPoint, Socket> _backs = [];
    private readonly PriorityQueue<(Socket Socket, byte[] Data, EndPoint To), long> _queue = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _threads = [];
    private readonly object _lock = new();

    public ImpairedUdpLink(int relayPort, double loss, TimeSpan delay, int seed = 5)
    {
        _relay = new IPEndPoint(IPAddress.Loopback, relayPort);
        _loss = loss;
        _delay = delay;
        _random = new Random(seed);
        _front = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_front.LocalEndPoint!).Port;
        Start(() => ReceiveFront(), "link-front");
        Start(Deliver, "link-deliver");
    }

    /// <summary>The port the browser is told the relay is at.</summary>
    public int Port { get; }

    public long Forwarded { get; private set; }

    public long Dropped { get; private set; }

    /// <summary>
    /// The relay's SDP as the browser behind this link must see it: UDP candidates on our port, no TCP candidates (they
    /// would bypass the link).
    /// </summary>
    public string Rewrite(string sdp)
    {
        var lines = sdp.Split("\r\n");
        var kept = lines.Where(l => !(l.StartsWith("a=candidate:", StringComparison.Ordinal) && l.Contains(" tcp ", StringComparison.OrdinalIgnoreCase)));
        var text = string.Join("\r\n", kept);
        return UdpCandidate().Replace(text, m => m.Groups[1].Value + Port + m.Groups[3].Value);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _front.Dispose();
        lock (_lock)
        {
            foreach (var back in _backs.Values)
            {
                back.Dispose();
            }

            Monitor.PulseAll(_lock);
        }

        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }

        _stop.Dispose();
    }

    [GeneratedRegex(@"(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)( typ host)", RegexOptions.IgnoreCase)]
    private static partial Regex UdpCandidate();

    private void Start(Action loop, string name)
    {
        var thread = new Thread(() =>
        {
            try
            {
                loop();
            }
            catch (ObjectDisposedException)
            {
            }
            catch (SocketException)
            {
            }
        })
        { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private void ReceiveFront()
    {
        var buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            var length = _front.ReceiveFrom(buffer, ref from);
            Socket? back;
            lock (_lock)
            {
                if (!_backs.TryGetValue(from, out back))
                {
                    // One socket toward the relay per browser socket, so the relay sees one 5-tuple per connection.
                    back = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    back.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                    _backs[from] = back;
                    var browser = from;
                    var socket = back;
                    Start(() => ReceiveBack(socket, browser), "link-back");
                }
            }

            Enqueue(back, buffer.AsSpan(0, length), _relay);
        }
    }

    private void ReceiveBack(Socket back, EndPoint browser)
    {
        var buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            var length = back.Receive(buffer);
            Enqueue(_front, buffer.AsSpan(0, length), browser);
        }
    }

    private void Enqueue(Socket socket, ReadOnlySpan<byte> data, EndPoint to)
    {
        lock (_lock)
        {
            if (_random.NextDouble() < _loss)
            {
                Dropped++;
                return;
            }

            var due = Stopwatch.GetTimestamp() + (long)(_delay.TotalSeconds * Stopwatch.Frequency);
            _queue.Enqueue((socket, data.ToArray(), to), due);
            Monitor.Pulse(_lock);
        }
    }

    private void Deliver()
    {
        while (!_stop.IsCancellationRequested)
        {
            (Socket Socket, byte[] Data, EndPoint To) item;
            lock (_lock)
            {
                if (!_queue.TryPeek(out item, out var due))
                {
                    Monitor.Wait(_lock, 50);
                    continue;
                }

                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    Monitor.Wait(_lock, TimeSpan.FromSeconds(Math.Max((double)wait / Stopwatch.Frequency, 0.0005)));
                    continue;
                }

                _queue.Dequeue();
                Forwarded++;
            }

            item.Socket.SendTo(item.Data, item.To);
        }
    }
}
