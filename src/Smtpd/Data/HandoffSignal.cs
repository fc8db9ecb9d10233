using System.Threading.Tasks.Sources;

namespace Smtpd;

/// <summary>
/// One side of a hand-off between two tasks that wait for each other in turn (the command loop and the DATA handler of a
/// BDAT message): <see cref="Wait"/> gives a fresh awaitable, <see cref="Set"/> completes it. Reused for every wait, so a
/// chunk costs no allocation; continuations never run inside <see cref="Set"/>, so the side that signals finishes its own
/// step before the other side resumes.
/// </summary>
internal sealed class HandoffSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    /// <summary>A new wait (the previous one must have completed and been awaited).</summary>
    public ValueTask Wait()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    /// <summary>Completes the current wait.</summary>
    public void Set() => _core.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
