namespace Teletherapy.Scheduling.Outbox;

/// <summary>Wakes the outbox sender after a commit so new messages go out without waiting for the next poll.</summary>
internal sealed class OutboxSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public Task WaitAsync() => Volatile.Read(ref _next).Task;
}
