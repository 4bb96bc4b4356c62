using System.Diagnostics;
using Teletherapy.MediaRelay.Dtls;

namespace Teletherapy.MediaRelay.Tests.Dtls;

public sealed class DtlsDatagramQueueTests
{
    [Fact]
    public void ReceiveReturnsQueuedDatagramsInOrderThenTimesOutWithMinusOne()
    {
        var queue = new DtlsDatagramQueue(_ => { }, 1200, capacity: 4);
        Assert.True(queue.Enqueue(new byte[] { 1, 2, 3 }));
        Assert.True(queue.Enqueue(new byte[] { 4 }));
        Assert.Equal(2, queue.Count);
        var buffer = new byte[16];

        Assert.Equal(3, queue.Receive(buffer, 0, buffer.Length, 10));
        Assert.Equal(new byte[] { 1, 2, 3 }, buffer[..3]);
        Assert.Equal(1, queue.Count);
        Assert.Equal(1, queue.Receive(buffer, 0, buffer.Length, 10));
        Assert.Equal(4, buffer[0]);
        Assert.Equal(0, queue.Count);

        var watch = Stopwatch.StartNew();
        Assert.Equal(-1, queue.Receive(buffer, 0, buffer.Length, 100));
        Assert.InRange(watch.ElapsedMilliseconds, 80, 5000);
    }

    [Fact]
    public void BoundedQueueDropsWhenFullAndRefusesOversizedOrEmptyDatagrams()
    {
        var queue = new DtlsDatagramQueue(_ => { }, 1200, capacity: 2);
        Assert.True(queue.Enqueue(new byte[10]));
        Assert.True(queue.Enqueue(new byte[10]));
        Assert.False(queue.Enqueue(new byte[10]));
        Assert.False(queue.Enqueue(ReadOnlySpan<byte>.Empty));
        Assert.False(queue.Enqueue(new byte[DtlsDatagramQueue.ReceiveLimit + 1]));
    }

    [Fact]
    public async Task CloseUnblocksAWaitingReceiverAndStopsSends()
    {
        int sent = 0;
        var queue = new DtlsDatagramQueue(_ => sent++, 1200, capacity: 2);
        queue.Send(new byte[5]);
        Task<Exception?> receiver = Task.Factory.StartNew<Exception?>(
            () => Record.Exception(() => queue.Receive(new byte[16], 0, 16, 30_000)),
            TaskCreationOptions.LongRunning);
        await Task.Delay(50);
        queue.Close();

        Exception? thrown = await receiver.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<IOException>(thrown);
        queue.Send(new byte[5]);
        Assert.Equal(1, sent);
        Assert.False(queue.Enqueue(new byte[3]));
    }
}
