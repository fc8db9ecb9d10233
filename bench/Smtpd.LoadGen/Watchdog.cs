namespace Smtpd.LoadGen;

/// <summary>
/// One timer for every time limit of the run: every 100 ms it checks each slot's current connection against its
/// deadline, and the whole run against its overall deadline. No per-operation timers or cancellation sources.
/// </summary>
internal sealed class Watchdog : IDisposable
{
    private readonly SmtpClientConnection?[] _slots;
    private readonly long _runDeadline;
    private readonly Action _onRunDeadline;
    private readonly Timer _timer;
    private int _runDeadlineFired;

    public Watchdog(int slots, TimeSpan runLimit, Action onRunDeadline)
    {
        _slots = new SmtpClientConnection?[slots];
        _runDeadline = Environment.TickCount64 + (long)runLimit.TotalMilliseconds;
        _onRunDeadline = onRunDeadline;
        _timer = new Timer(static state => ((Watchdog)state!).Tick(), this, 100, 100);
    }

    /// <summary>Makes <paramref name="connection"/> the connection watched in <paramref name="slot"/> (null: none).</summary>
    public void Watch(int slot, SmtpClientConnection? connection) => Volatile.Write(ref _slots[slot], connection);

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        long now = Environment.TickCount64;
        if (now > _runDeadline && Interlocked.Exchange(ref _runDeadlineFired, 1) == 0)
        {
            _onRunDeadline();
        }

        bool expired = Volatile.Read(ref _runDeadlineFired) != 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            SmtpClientConnection? connection = Volatile.Read(ref _slots[i]);
            if (connection is null)
            {
                continue;
            }

            if (expired)
            {
                connection.Dispose();
            }
            else
            {
                connection.CheckDeadline(now);
            }
        }
    }
}
