using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Tests.Srtp;

public sealed class SrtpReplayWindowTests
{
    [Fact]
    public void TracksEachIndexInsideTheWindowAndRefusesOlderOnes()
    {
        var window = default(SrtpReplayWindow);
        window.Reset(1000);
        window.Accept(1005);
        window.Accept(1003);

        Assert.False(window.IsAcceptable(1000));
        Assert.False(window.IsAcceptable(1003));
        Assert.False(window.IsAcceptable(1005));
        Assert.True(window.IsAcceptable(1004));
        Assert.True(window.IsAcceptable(1001));
        Assert.True(window.IsAcceptable(1006));
        Assert.True(window.IsAcceptable(1005 - 127));
        Assert.False(window.IsAcceptable(1005 - 128));
    }

    [Fact]
    public void JumpLargerThanTheWindowForgetsEverything()
    {
        var window = default(SrtpReplayWindow);
        window.Reset(10);
        window.Accept(10 + 500);
        Assert.Equal(510ul, window.Highest);
        Assert.False(window.IsAcceptable(510));
        Assert.True(window.IsAcceptable(509));
        Assert.False(window.IsAcceptable(10));
    }
}
