using Microsoft.Extensions.Time.Testing;
using Teletherapy.Signaling.Abuse;

namespace Teletherapy.Signaling.Tests.Abuse;

public sealed class FixedWindowsTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_client_gets_the_limit_in_its_window_then_waits_for_the_window_to_end()
    {
        var windows = new FixedWindows(_time, Minute);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(windows.TryTake("192.0.2.1", 3, out var none));
            Assert.Equal(TimeSpan.Zero, none);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        // The window opened with the first request, 30 s ago: 30 s are left of it.
        Assert.False(windows.TryTake("192.0.2.1", 3, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(30), retryAfter);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(windows.TryTake("192.0.2.1", 3, out retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);

        // At the window's end a new one opens, with the whole limit again.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(windows.TryTake("192.0.2.1", 3, out _));
        Assert.True(windows.TryTake("192.0.2.1", 3, out _));
        Assert.True(windows.TryTake("192.0.2.1", 3, out _));
        Assert.False(windows.TryTake("192.0.2.1", 3, out retryAfter));
        Assert.Equal(Minute, retryAfter);
    }

    [Fact]
    public void Each_client_has_its_own_window()
    {
        var windows = new FixedWindows(_time, Minute);
        Assert.True(windows.TryTake("192.0.2.1", 1, out _));
        Assert.False(windows.TryTake("192.0.2.1", 1, out _));
        Assert.True(windows.TryTake("192.0.2.2", 1, out _));
        Assert.True(windows.TryTake("2001:db8::/64", 1, out _));
        Assert.False(windows.TryTake("192.0.2.2", 1, out _));
    }

    [Fact]
    public void Refused_requests_do_not_stretch_the_window()
    {
        var windows = new FixedWindows(_time, Minute);
        Assert.True(windows.TryTake("192.0.2.1", 1, out _));
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            Assert.False(windows.TryTake("192.0.2.1", 1, out _));
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(windows.TryTake("192.0.2.1", 1, out _));
    }

    [Fact]
    public void Ended_windows_are_dropped_as_the_table_grows_so_a_flood_of_addresses_holds_one_window_of_them()
    {
        var windows = new FixedWindows(_time, Minute);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(windows.TryTake($"10.0.{i / 256}.{i % 256}", 1, out _));
        }

        Assert.Equal(1000, windows.Count);

        // A minute later those windows have ended; the table sweeps them once it reaches its sweep size.
        _time.Advance(Minute);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(windows.TryTake($"10.1.{i / 256}.{i % 256}", 1, out _));
        }

        Assert.InRange(windows.Count, 1, 100);

        // Windows still running are kept (and still refuse).
        Assert.False(windows.TryTake("10.1.0.5", 1, out _));
    }

    [Fact]
    public void A_window_must_have_a_length()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedWindows(_time, TimeSpan.Zero));
        Assert.Throws<ArgumentNullException>(() => new FixedWindows(null!, Minute));
    }
}
