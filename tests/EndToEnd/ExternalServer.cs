using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Teletherapy.EndToEnd;

/// <summary>A real server from Debian's packages (coturn, nginx) started for one test, its output kept, killed on dispose.</summary>
public sealed class ExternalServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ExternalServer(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="program"/>; fails the test with the install hint when it is missing.</summary>
    public static ExternalServer Start(string program, string package, params string[] arguments)
    {
        Assert.True(File.Exists(program), $"{program} is missing: ./test.sh installs it (apt-get install -y {package}).");
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new ExternalServer(Process.Start(start)!);
    }

    /// <summary>Waits until something accepts TCP connections on the address (the server is up).</summary>
    public async Task WaitForTcpAsync(IPAddress address, int port)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            Assert.False(_process.HasExited, $"The server exited: {Output}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(address, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    public static int FreeTcpPort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
