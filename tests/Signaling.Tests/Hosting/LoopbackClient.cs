using System.Net;
using System.Net.Sockets;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>HTTP clients that look like different machines: each connects from its own loopback address (127.0.0.0/8).</summary>
public static class LoopbackClient
{
    /// <summary>An HTTP client whose connections leave from <paramref name="source"/>, e.g. 127.0.0.2.</summary>
    public static HttpClient From(string source, Uri baseAddress) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(20) };
}
