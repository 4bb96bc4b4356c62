using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

public sealed class RepairBudgetTests
{
    private const long Rate = 80_000; // bit/s: 10,000 bytes a second, 5,000 in the bucket

    [Fact]
    public void StartsWithHalfASecondOfTheRateAndRefusesWhatItDoesNotHold()
    {
        var budget = new RepairBudget();
        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < 4; i++)
        {
            Assert.True(budget.TrySpend(1_200, Rate, now), $"repair {i}");
        }

        Assert.False(budget.TrySpend(1_200, Rate, now)); // 4,800 spent of 5,000
        Assert.True(budget.TrySpend(200, Rate, now));
    }

    [Fact]
    public void RefillsAtTheRateUpToItsDepth()
    {
        var budget = new RepairBudget();
        var now = Stopwatch.GetTimestamp();
        Assert.True(budget.TrySpend(5_000, Rate, now));
        Assert.False(budget.TrySpend(1_000, Rate, now));

        // 100 ms later: 1,000 bytes back.
        now += Stopwatch.Frequency / 10;
        Assert.True(budget.TrySpend(1_000, Rate, now));
        Assert.False(budget.TrySpend(100, Rate, now));

        // After a long quiet spell it holds no more than half a second's worth.
        now += 10 * Stopwatch.Frequency;
        Assert.True(budget.TrySpend(5_000, Rate, now));
        Assert.False(budget.TrySpend(100, Rate, now));
    }

    [Fact]
    public void AHigherRateHoldsMore()
    {
        var budget = new RepairBudget();
        var now = Stopwatch.GetTimestamp();
        Assert.True(budget.TrySpend(5_000, Rate, now));
        now += Stopwatch.Frequency;
        Assert.True(budget.TrySpend(19_000, 4 * Rate, now)); // a second at 40,000 bytes/s, capped at 20,000
        Assert.False(budget.TrySpend(2_000, 4 * Rate, now));
    }
}
