namespace Teletherapy.LoadTests.Tests;

public sealed class LoadOptionsTests
{
    [Fact]
    public void TheDocumentedCommandLineIsRead()
    {
        Assert.True(LoadOptions.TryParse(["--target", "janus", "--sessions", "50", "--duration", "30s", "--simulcast", "--out", "x"], out var options, out var error), error);
        Assert.Equal(LoadTarget.Janus, options!.Target);
        Assert.Equal(50, options.Sessions);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Duration);
        Assert.True(options.Simulcast);
        Assert.Equal("x", options.OutputDirectory);

        Assert.True(LoadOptions.TryParse(["--server", "http://127.0.0.1:5080", "--api-key", "k", "--sessions", "1", "--duration", "2m"], out options, out error), error);
        Assert.Equal(LoadTarget.Teletherapy, options!.Target);
        Assert.Equal([new Uri("http://127.0.0.1:5080")], options.Servers);
        Assert.Equal(TimeSpan.FromMinutes(2), options.Duration);

        Assert.True(LoadOptions.TryParse(["--sessions", "1", "--duration", "2m"], out options, out error), error);
        Assert.Empty(options!.Servers);
        Assert.Empty(options.Outboxes);
    }

    [Fact]
    public void ChurnIsReadAndBoundedByTheSessions()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "30", "--duration", "30m", "--churn", "5", "--churn-every", "60s"], out var options, out var error), error);
        Assert.Equal(5, options!.Churn);
        Assert.Equal(TimeSpan.FromMinutes(1), options.ChurnEvery);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "1m"], out options, out error), error);
        Assert.Equal(0, options!.Churn);

        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "1m", "--churn", "4"], out _, out error));
        Assert.Contains("--churn", error, StringComparison.Ordinal);
        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "1m", "--churn", "1", "--churn-every", "1s"], out _, out error));
        Assert.Contains("--churn-every", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralServersAreTheNodesInTheirOrderWithOneKey()
    {
        Assert.True(LoadOptions.TryParse(
            ["--server", "http://127.0.0.1:5080", "--server", "http://127.0.0.1:5081", "--api-key", "k", "--outbox", "a", "--sessions", "4", "--duration", "10s"],
            out var options,
            out var error), error);
        Assert.Equal([new Uri("http://127.0.0.1:5080"), new Uri("http://127.0.0.1:5081")], options!.Servers);
        Assert.Equal("k", options.ApiKey);
        Assert.Equal(["a"], options.Outboxes);

        // One outbox per node, when they do not share one.
        Assert.True(LoadOptions.TryParse(
            ["--server", "http://a:1", "--server", "http://b:1", "--api-key", "k", "--outbox", "a", "--outbox", "b", "--sessions", "4", "--duration", "10s"],
            out options,
            out error), error);
        Assert.Equal(["a", "b"], options!.Outboxes);
    }

    [Theory]
    [InlineData("--server", "127.0.0.1:5080", "--api-key", "k")]
    [InlineData("--server", "http://127.0.0.1:5080", "--server", "ftp://127.0.0.1:5081", "--api-key", "k")]
    [InlineData("--server", "http://127.0.0.1:5080", "--server", "http://127.0.0.1:5081")]
    [InlineData("--server", "http://127.0.0.1:5080", "--server", "http://127.0.0.1:5080", "--api-key", "k")]
    [InlineData("--target", "janus", "--server", "http://127.0.0.1:5080", "--server", "http://127.0.0.1:5081", "--api-key", "k")]
    [InlineData("--server", "http://a:1", "--server", "http://b:1", "--server", "http://c:1", "--api-key", "k", "--outbox", "a", "--outbox", "b")]
    [InlineData("--outbox", "a")]
    public void BadServerListsAreRefusedWithAReason(params string[] args)
    {
        Assert.False(LoadOptions.TryParse([.. args, "--sessions", "4", "--duration", "10s"], out var options, out var error));
        Assert.Null(options);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void JanusWithSeveralServersSaysWhy()
    {
        Assert.False(LoadOptions.TryParse(
            ["--target", "janus", "--server", "http://127.0.0.1:5080", "--server", "http://127.0.0.1:5081", "--api-key", "k", "--sessions", "4", "--duration", "10s"],
            out _,
            out var error));
        Assert.Contains("--janus-url", error, StringComparison.Ordinal);
        Assert.Contains("cluster", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--duration", "30s")]
    [InlineData("--sessions", "10")]
    [InlineData("--sessions", "0", "--duration", "30s")]
    [InlineData("--sessions", "10", "--duration", "forever")]
    [InlineData("--sessions", "10", "--duration", "30s", "--target", "mediasoup")]
    [InlineData("--sessions", "10", "--duration", "30s", "--server", "http://127.0.0.1:1")]
    [InlineData("--sessions", "10", "--duration", "30s", "--bogus")]
    [InlineData("--sessions", "10", "--duration", "30s", "--target", "janus", "--server", "http://127.0.0.1:1", "--api-key", "k")]
    public void BadArgumentsAreRefusedWithAReason(params string[] args)
    {
        Assert.False(LoadOptions.TryParse(args, out var options, out var error));
        Assert.Null(options);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void ParticipantsAreTwoUnlessGiven()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s"], out var options, out var error), error);
        Assert.Equal(2, options!.Participants);
        Assert.Equal(TimeSpan.FromSeconds(30.9), options.EffectiveSetupTimeout);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--participants", "16", "--duration", "30s"], out options, out error), error);
        Assert.Equal(16, options!.Participants);

        // Each contact that joins adds to the setup time, as each 1:1 session does.
        Assert.Equal(TimeSpan.FromSeconds(30 + (0.3 * 3 * 15)), options.EffectiveSetupTimeout);

        Assert.True(LoadOptions.TryParse(["--target", "janus", "--sessions", "3", "--participants", "2", "--duration", "30s"], out options, out error), error);
        Assert.Equal(2, options!.Participants);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("17")]
    [InlineData("0")]
    [InlineData("-4")]
    [InlineData("four")]
    public void ParticipantsOutsideWhatARoomHoldsAreRefused(string participants)
    {
        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--participants", participants, "--duration", "30s"], out var options, out var error));
        Assert.Null(options);
        Assert.Contains("--participants", error, StringComparison.Ordinal);
        Assert.Contains("16", error, StringComparison.Ordinal);
    }

    [Fact]
    public void JanusGroupSessionsAreRefusedWithAReason()
    {
        Assert.False(LoadOptions.TryParse(["--target", "janus", "--sessions", "3", "--participants", "3", "--duration", "30s"], out var options, out var error));
        Assert.Null(options);
        Assert.Contains("--target teletherapy", error, StringComparison.Ordinal);
        Assert.Contains("1:1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void OneReceiveThreadUnlessGivenZeroMeansAThreadPerConnectionAndCoalescingIsOff()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s"], out var options, out var error), error);
        Assert.Null(options!.ReceiveThreads);
        Assert.Equal(TimeSpan.Zero, options.ReceiveCoalesce);
        Assert.Equal(1, options.EffectiveReceiveThreads);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--client-sockets", "own", "--receive-threads", "0"], out options, out error), error);
        Assert.Equal(0, options!.EffectiveReceiveThreads);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--receive-threads", "3"], out options, out error), error);
        Assert.Equal(3, options!.EffectiveReceiveThreads);

        foreach (string bad in new[] { "-1", "65", "two" })
        {
            Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--receive-threads", bad], out options, out error));
            Assert.Contains("--receive-threads", error, StringComparison.Ordinal);
        }

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--receive-coalesce", "0.5ms"], out options, out error), error);
        Assert.Equal(TimeSpan.FromMicroseconds(500), options!.ReceiveCoalesce);
        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--receive-coalesce", "6ms"], out _, out error));
        Assert.Contains("--receive-coalesce", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SendTickIsOffUnlessGivenAndFromOneToAHundredMilliseconds()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s"], out var options, out var error), error);
        Assert.Equal(TimeSpan.Zero, options!.SendTick);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--send-tick", "10ms"], out options, out error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(10), options!.SendTick);
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--send-tick", "0"], out options, out error), error);
        Assert.Equal(TimeSpan.Zero, options!.SendTick);

        foreach (string bad in new[] { "0.5ms", "101ms", "1s", "soon" })
        {
            Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--send-tick", bad], out options, out error));
            Assert.Contains("--send-tick", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TicksAreMultiplesOfTheirLengthSoEveryPacerWakesOnTheSameOnesAndLatenessDoesNotAddUp()
    {
        const long tick = 10_000;
        Assert.Equal(10_000, Pacer.NextTick(0, tick));
        Assert.Equal(10_000, Pacer.NextTick(9_999, tick));
        // Exactly on a boundary: the next one, never the same (that would send twice in one tick).
        Assert.Equal(20_000, Pacer.NextTick(10_000, tick));
        // Woken 3 ms late: the tick after is still on the grid, not 10 ms after the late wake-up.
        Assert.Equal(30_000, Pacer.NextTick(23_000, tick));
    }

    [Fact]
    public void ConnectionsSharePortsWithOurServerAndHaveSocketsOfTheirOwnWithJanus()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s"], out var options, out var error), error);
        Assert.Null(options!.SharedClientSockets);
        Assert.True(options.EffectiveSharedClientSockets);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--client-sockets", "own", "--receive-threads", "0"], out options, out error), error);
        Assert.False(options!.EffectiveSharedClientSockets);
        Assert.Equal(0, options.EffectiveReceiveThreads);

        Assert.True(LoadOptions.TryParse(["--target", "janus", "--sessions", "3", "--duration", "30s"], out options, out error), error);
        Assert.False(options!.EffectiveSharedClientSockets);

        Assert.False(LoadOptions.TryParse(["--target", "janus", "--sessions", "3", "--duration", "30s", "--client-sockets", "shared"], out options, out error));
        Assert.Null(options);
        Assert.Contains("--client-sockets shared", error, StringComparison.Ordinal);

        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--receive-threads", "0"], out _, out error));
        Assert.Contains("--client-sockets own", error, StringComparison.Ordinal);

        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--client-sockets", "both"], out _, out error));
        Assert.Contains("--client-sockets is shared or own", error, StringComparison.Ordinal);
    }

    [Fact]
    public void OnePacerThreadUnlessGivenFromOneToSixteen()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s"], out var options, out var error), error);
        Assert.Equal(1, options!.PacerThreads);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--pacer-threads", "4"], out options, out error), error);
        Assert.Equal(4, options!.PacerThreads);

        foreach (string bad in new[] { "0", "-1", "17", "two" })
        {
            Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--pacer-threads", bad], out options, out error));
            Assert.Null(options);
            Assert.Contains("--pacer-threads", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ListenersAreAtMostTheParticipantsAndOnlyForOurServerWithoutChurn()
    {
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s"], out var options, out var error), error);
        Assert.Null(options!.Listeners);

        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--participants", "8", "--listeners", "1"], out options, out error), error);
        Assert.Equal(1, options!.Listeners);
        Assert.True(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--participants", "8", "--listeners", "8"], out options, out error), error);
        Assert.Equal(8, options!.Listeners);

        foreach (string bad in new[] { "0", "-1", "17", "one" })
        {
            Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--participants", "16", "--listeners", bad], out options, out error));
            Assert.Null(options);
            Assert.Contains("--listeners", error, StringComparison.Ordinal);
        }

        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--participants", "4", "--listeners", "5"], out _, out error));
        Assert.Equal("--listeners (5) is at most --participants (4).", error);
        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--target", "janus", "--listeners", "1"], out _, out error));
        Assert.Contains("--target teletherapy", error, StringComparison.Ordinal);
        Assert.False(LoadOptions.TryParse(["--sessions", "3", "--duration", "30s", "--listeners", "1", "--churn", "1"], out _, out error));
        Assert.Contains("--churn", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DurationsTakeTheirUnits()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(500), LoadOptions.ParseDuration("--d", "500ms"));
        Assert.Equal(TimeSpan.FromSeconds(45), LoadOptions.ParseDuration("--d", "45"));
        Assert.Equal(TimeSpan.FromHours(1), LoadOptions.ParseDuration("--d", "1h"));
        Assert.Throws<FormatException>(() => LoadOptions.ParseDuration("--d", "-3s"));
    }
}
