using System.Net;
using System.Net.Sockets;

namespace Teletherapy.LoadTests.Tests;

public sealed class ProcessMonitorTests
{
    [Fact]
    public void OpenDescriptorsCountEveryOpenSocketAndThreadsEveryRunningThread()
    {
        var monitor = new ProcessMonitor(Environment.ProcessId);
        var fdsBefore = monitor.OpenFileDescriptors();
        var threadsBefore = monitor.Threads();
        Assert.NotNull(fdsBefore);
        Assert.NotNull(threadsBefore);
        Assert.InRange(threadsBefore!.Value - Directory.GetFileSystemEntries("/proc/self/task").Length, -2, 2);

        var sockets = new List<Socket>();
        using var release = new ManualResetEventSlim();
        var threads = new List<Thread>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                sockets.Add(socket);
            }

            for (var i = 0; i < 6; i++)
            {
                var thread = new Thread(() => release.Wait()) { IsBackground = true };
                thread.Start();
                threads.Add(thread);
            }

            // Other threads of the test host may open or close a descriptor or two meanwhile.
            Assert.InRange(monitor.OpenFileDescriptors()!.Value - fdsBefore!.Value, 38, 42);
            Assert.InRange(monitor.Threads()!.Value - threadsBefore.Value, 5, 8);
        }
        finally
        {
            release.Set();
            threads.ForEach(t => t.Join());
            sockets.ForEach(s => s.Dispose());
        }

        Assert.InRange(monitor.OpenFileDescriptors()!.Value - fdsBefore!.Value, -2, 2);
        Assert.Null(new ProcessMonitor(int.MaxValue).OpenFileDescriptors());
        Assert.Null(new ProcessMonitor(int.MaxValue).Threads());
    }
}
