namespace Smtpd;

/// <summary>What the heartbeat does to a connection whose deadline has passed.</summary>
internal enum TimeoutAction
{
    /// <summary>Nothing is armed.</summary>
    None = 0,

    /// <summary>The connection waits for its next command: the read is woken (the loop answers <c>421 Timeout</c>). A shutdown request wakes it too.</summary>
    WakeCommandRead = 1,

    /// <summary>The connection waits for more input inside a message or while closing: the read is woken and fails.</summary>
    WakeRead = 2,

    /// <summary>A write, a TLS handshake or a PROXY header: the transport is torn down.</summary>
    Abort = 3,
}

/// <summary>Carries out what <see cref="TimeoutControl"/> decided: wake a pending read, or tear the transport down.</summary>
internal interface ITimeoutHandler
{
    /// <summary>Interrupts what the connection waits for, as <paramref name="action"/> says.</summary>
    void Interrupt(TimeoutAction action);
}

/// <summary>
/// A connection's deadline, ticked by the server's one heartbeat (no timer or cancellation source per read, as Kestrel's
/// <c>TimeoutControl</c>), and its shutdown request. The deadline and what to do when it passes are one 64-bit value:
/// the heartbeat fires only the deadline it read (compare-and-swap), so a re-arm in between is never hit by an old
/// timeout. The command loop and <see cref="RequestShutdown"/> each publish their side with a full fence before they
/// read the other's, so they cannot miss each other.
/// </summary>
internal sealed class TimeoutControl(ITimeoutHandler handler)
{
    /// <summary>A timeout that never passes: marks a wait (for a shutdown to find) without a deadline.</summary>
    public const long Never = long.MaxValue >> 4;

    private const int ActionBits = 2;
    private const long ActionMask = (1 << ActionBits) - 1;

    private long _armed;
    private int _timedOut;
    private int _shutdownRequested;

    /// <summary>A deadline passed (the connection ends with <c>421 Timeout</c> or is torn down).</summary>
    public bool TimedOut => Volatile.Read(ref _timedOut) != 0;

    /// <summary><see cref="RequestShutdown"/> was called.</summary>
    public bool IsShutdownRequested => Volatile.Read(ref _shutdownRequested) != 0;

    /// <summary>The armed deadline in <see cref="Environment.TickCount64"/> milliseconds, or 0.</summary>
    internal long Deadline => Volatile.Read(ref _armed) >> ActionBits;

    /// <summary>Arms the deadline <paramref name="timeoutMs"/> from now; when it passes, the heartbeat does <paramref name="action"/>.</summary>
    public void Arm(TimeoutAction action, long timeoutMs) => Volatile.Write(ref _armed, Encode(action, timeoutMs));

    /// <summary>
    /// Arms the wait for the next command, then reports whether a shutdown was requested: either this sees the request,
    /// or <see cref="RequestShutdown"/> sees this wait and wakes it.
    /// </summary>
    public bool ArmForCommand(long timeoutMs)
    {
        Interlocked.Exchange(ref _armed, Encode(TimeoutAction.WakeCommandRead, timeoutMs));
        return Volatile.Read(ref _shutdownRequested) != 0;
    }

    /// <summary>No deadline until the next <see cref="Arm"/>.</summary>
    public void Disarm() => Volatile.Write(ref _armed, 0);

    /// <summary>From the heartbeat: fires the deadline if it passed and is still the one armed.</summary>
    public void OnHeartbeat(long now)
    {
        long armed = Volatile.Read(ref _armed);
        if (armed == 0 || now < armed >> ActionBits || Interlocked.CompareExchange(ref _armed, 0, armed) != armed)
        {
            return;
        }

        Volatile.Write(ref _timedOut, 1);
        handler.Interrupt((TimeoutAction)(armed & ActionMask));
    }

    /// <summary>The server is closing: an idle session is woken to answer <c>421</c>; one inside a message completes it first.</summary>
    public void RequestShutdown()
    {
        Interlocked.Exchange(ref _shutdownRequested, 1);
        if ((TimeoutAction)(Volatile.Read(ref _armed) & ActionMask) == TimeoutAction.WakeCommandRead)
        {
            handler.Interrupt(TimeoutAction.WakeCommandRead);
        }
    }

    private static long Encode(TimeoutAction action, long timeoutMs) =>
        (Math.Max(1, Environment.TickCount64 + timeoutMs) << ActionBits) | (long)action;
}
