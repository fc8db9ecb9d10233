using System.Threading.Tasks.Sources;

namespace Smtpd;

/// <summary>
/// One pending wait of a socket for readability or writability, reused for every wait (no allocation per wait). The
/// readiness loop completes it with <see cref="Signal"/>, and the continuation runs right there, on the loop thread. A
/// failure (the socket closed, the wait cancelled) comes from another thread and completes it on the thread pool, so
/// the caller's thread (a heartbeat, a close) never runs the connection. Whoever disarms it completes it: exactly once.
/// </summary>
internal sealed class ReadinessWaiter : IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _armed;
    private Exception? _failure;

    /// <summary>Prepares the next wait; follow it with a check of the condition, then <see cref="Task"/> or <see cref="TryDisarm"/>.</summary>
    public void Arm()
    {
        _core.Reset();
        Interlocked.Exchange(ref _armed, 1);
    }

    /// <summary>Takes the armed wait back (the condition already holds): <see langword="false"/> when a signal or failure took it first.</summary>
    public bool TryDisarm() => Interlocked.Exchange(ref _armed, 0) == 1;

    /// <summary>A wait is armed and not yet completed.</summary>
    public bool IsArmed => Volatile.Read(ref _armed) == 1;

    /// <summary>The armed wait; its result is 0.</summary>
    public ValueTask<int> Task => new(this, _core.Version);

    /// <summary>From the readiness loop: completes the armed wait; its continuation runs on this thread.</summary>
    public void Signal()
    {
        if (TryDisarm())
        {
            _core.SetResult(true);
        }
    }

    /// <summary>From any thread: fails the armed wait with <paramref name="failure"/>, on the thread pool.</summary>
    public void Fail(Exception failure)
    {
        if (TryDisarm())
        {
            _failure = failure;
            ThreadPool.UnsafeQueueUserWorkItem(static waiter => waiter._core.SetException(waiter._failure!), this, preferLocal: false);
        }
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        _core.GetResult(token);
        return 0;
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
