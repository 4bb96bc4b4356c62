using Teletherapy.MediaRelay.Fuzz;
using Teletherapy.MediaRelay.Fuzz.Targets;
using Xunit.Abstractions;

namespace Teletherapy.MediaRelay.Tests.Fuzzing;

/// <summary>
/// The short run of load-tests/fuzz.sh: every parser target on mutated inputs with a fixed seed, no exception escaping,
/// no invariant broken, no hang; and enough inputs accepted that the mutations reach past the first length check.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    public static TheoryData<string, int, double> Targets() => new()
    {
        // target, inputs, least share of inputs the parser must accept
        { "stun", 20_000, 0.10 },
        { "rtp", 20_000, 0.30 },
        { "rtcp", 20_000, 0.10 },
        { "sdp", 1_000, 0.20 },
        { "dtls", 3_000, 0.50 },
        { "rfc4571", 20_000, 0.30 },
        { "vp8", 20_000, 0.50 },
        { "srtp", 20_000, 0.10 },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutatedInputsNeitherThrowNorHang(string name, int inputs, double minimumAccepted)
    {
        // A generous budget: the suite shares two cores with other test assemblies; a real hang is far slower.
        var options = new FuzzOptions { Inputs = inputs, Seed = 1919, HangBudget = TimeSpan.FromMilliseconds(500), Watchdog = TimeSpan.FromSeconds(60) };

        FuzzResult result = FuzzRunner.Run(FuzzTargets.Create(name), options);

        output.WriteLine($"{name}: {result.Inputs} inputs in {result.Elapsed.TotalSeconds:F2} s, {(double)result.Accepted / result.Inputs:P0} accepted, slowest {result.Slowest.TotalMilliseconds:F1} ms");
        Assert.True(result.Clean, string.Join("\n\n", result.Findings));
        Assert.True((double)result.Accepted / result.Inputs >= minimumAccepted, $"only {result.Accepted} of {result.Inputs} inputs accepted: the mutations are too destructive");
    }

    [Fact]
    public void EveryTargetHasSeedsFromTheCorpusOrTheRelaysWriters()
    {
        foreach (string name in FuzzTargets.Names)
        {
            Assert.NotEmpty(FuzzTargets.Create(name).Seeds(Corpus.Default));
        }

        // The recorded loopback session and the browser captures are there.
        Assert.True(Corpus.Default.Load("dtls").Count() >= 4);
        Assert.True(Corpus.Default.Load("sdp").Count() >= 7);
        Assert.NotNull(Corpus.Default.LoadText("stun", "ice-credentials.txt"));
    }

    [Fact]
    public void AnExceptionEscapingATargetIsAFindingWithItsInput()
    {
        FuzzResult result = FuzzRunner.Run(new Throwing(), new FuzzOptions { Inputs = 2_000, Seed = 1 });

        Assert.False(result.Clean);
        Assert.True(result.Exceptions > 0);
        FuzzFinding finding = result.Findings[0];
        Assert.Equal("exception", finding.Kind);
        Assert.NotEqual(0, finding.Input[0] & 0x02);
        Assert.Contains(Convert.ToHexString(finding.Input), finding.ToString(), StringComparison.Ordinal);
        Assert.IsType<IndexOutOfRangeException>(FuzzRunner.Replay(new Throwing(), finding.Input));
    }

    [Fact]
    public void ABrokenInvariantIsAFinding()
    {
        FuzzResult result = FuzzRunner.Run(new Throwing { Invariant = true }, new FuzzOptions { Inputs = 2_000, Seed = 1 });

        Assert.Equal("invariant", Assert.IsType<FuzzFinding>(result.Findings[0]).Kind);
    }

    [Fact]
    public void AnInputBusyOnEveryRunIsAHangButOneSlowRunOrAWaitIsNot()
    {
        var options = new FuzzOptions { Inputs = 50, Seed = 1, HangBudget = TimeSpan.FromMilliseconds(20) };

        FuzzResult hanging = FuzzRunner.Run(new Slow(everyRun: true), options);
        FuzzResult hiccup = FuzzRunner.Run(new Slow(everyRun: false), options);
        FuzzResult waiting = FuzzRunner.Run(new Slow(everyRun: true, sleep: true), options);

        Assert.Equal(1, hanging.Hangs);
        Assert.Equal("hang", hanging.Findings[0].Kind);
        Assert.True(hanging.Slowest >= TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, hiccup.Hangs);

        // Waiting (for a core, as a niced run on a busy machine does) costs no CPU: not a hang.
        Assert.Equal(0, waiting.Hangs);
    }

    /// <summary>Throws, as a parser with an off-by-one would, when bit 1 of the first byte is set (the seed has it clear).</summary>
    private sealed class Throwing : FuzzTarget
    {
        public bool Invariant { get; init; }

        public override string Name => "throwing";

        public override string EntryPoints => "none";

        public override IEnumerable<byte[]> Seeds(Corpus corpus) => [[0x40, 1, 2, 3]];

        public override bool Run(byte[] input)
        {
            if (input.Length > 0 && (input[0] & 0x02) != 0)
            {
                Check.That(!Invariant, "bit 1 of the first byte set");
                return input[input.Length + 1] == 0;
            }

            return true;
        }
    }

    /// <summary>Input #20 takes 40 ms, busy or asleep: on every run, or only the first time.</summary>
    private sealed class Slow(bool everyRun, bool sleep = false) : FuzzTarget
    {
        private byte _next;
        private bool _wasSlow;

        public override string Name => "slow";

        public override string EntryPoints => "none";

        public override IEnumerable<byte[]> Seeds(Corpus corpus) => [[0]];

        public override byte[] Next(PacketMutator mutator) => [++_next];

        public override bool Run(byte[] input)
        {
            if (input[0] == 20 && (everyRun || !_wasSlow))
            {
                _wasSlow = true;
                if (sleep)
                {
                    Thread.Sleep(40);
                    return true;
                }

                // 40 ms of this thread's CPU, however long the machine makes that take.
                TimeSpan start = ThreadCpuTime.Current;
                while (ThreadCpuTime.Current - start < TimeSpan.FromMilliseconds(40))
                {
                    Thread.SpinWait(100);
                }
            }

            return true;
        }
    }
}
