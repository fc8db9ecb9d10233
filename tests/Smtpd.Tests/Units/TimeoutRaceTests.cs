namespace Smtpd.Tests.Units;

/// <summary>
/// Issue 11, bug 5: the heartbeat read a deadline and then zeroed it with a plain write (a re-arm in between got a
/// spurious 421 Timeout), and the shutdown request and the command loop each set one volatile flag and read the other
/// (they could miss each other, and an idle client then waited the whole socket timeout during a shutdown). Both are
/// races; these tests run the two sides on two threads for a few seconds and count the bad interleavings (the old code
/// showed one within about a second). The same tests, written against the fields of the old connection, fail on 9df85f1.
/// </summary>
public class TimeoutRaceTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    private sealed class CountingHandler : ITimeoutHandler
    {
        public int WakeCommandReads;

        public void Interrupt(TimeoutAction action)
        {
            if (action == TimeoutAction.WakeCommandRead)
            {
                Interlocked.Increment(ref WakeCommandReads);
            }
        }
    }

    [Fact]
    public void A_heartbeat_never_fires_a_deadline_armed_after_it_read_the_expired_one()
    {
        var timeouts = new TimeoutControl(new CountingHandler());
        bool stop = false;
        var heartbeat = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                timeouts.OnHeartbeat(Environment.TickCount64);
            }
        });
        heartbeat.Start();
        long spurious = 0;
        try
        {
            var random = new Random(11);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 5_000_000 && spurious == 0 && clock.Elapsed < Budget; i++)
            {
                timeouts.Arm(TimeoutAction.WakeRead, -1000);
                Thread.SpinWait(random.Next(8));
                timeouts.Arm(TimeoutAction.WakeRead, 3_600_000);
                Thread.SpinWait(8);

                // The hour-long deadline can only be gone if a heartbeat zeroed it after reading the expired one.
                if (timeouts.Deadline == 0)
                {
                    spurious++;
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            heartbeat.Join();
        }

        Assert.Equal(0, spurious);
    }

    [Fact]
    public void A_shutdown_request_and_the_command_loop_never_miss_each_other()
    {
        const int rounds = 2_000_000;
        TimeoutControl? current = null;
        int round = 0;
        int ready = 0;
        var requester = new Thread(() =>
        {
            for (int i = 1; i <= rounds; i++)
            {
                int seen;
                while ((seen = Volatile.Read(ref round)) != i)
                {
                    if (seen == int.MaxValue)
                    {
                        return;
                    }
                }

                Volatile.Read(ref current)!.RequestShutdown();
                Interlocked.Increment(ref ready);
            }
        });
        requester.Start();
        long missed = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 1; i <= rounds && missed == 0 && clock.Elapsed < Budget; i++)
        {
            var handler = new CountingHandler();
            var timeouts = new TimeoutControl(handler);
            Volatile.Write(ref current, timeouts);
            Volatile.Write(ref round, i);

            // The command loop's side: mark the wait for a command, then look for a shutdown request.
            bool loopSawRequest = timeouts.ArmForCommand(60_000);
            while (Volatile.Read(ref ready) != i)
            {
            }

            if (!loopSawRequest && Volatile.Read(ref handler.WakeCommandReads) == 0)
            {
                missed++;
            }
        }

        Volatile.Write(ref round, int.MaxValue);
        requester.Join();
        Assert.Equal(0, missed);
    }

    [Fact]
    public void The_heartbeat_does_what_the_armed_deadline_says_once()
    {
        var handler = new RecordingHandler();
        var timeouts = new TimeoutControl(handler);
        timeouts.Arm(TimeoutAction.Abort, -1);
        timeouts.OnHeartbeat(Environment.TickCount64);
        timeouts.OnHeartbeat(Environment.TickCount64);
        Assert.Equal([TimeoutAction.Abort], handler.Actions);
        Assert.True(timeouts.TimedOut);

        timeouts = new TimeoutControl(handler = new RecordingHandler());
        timeouts.Arm(TimeoutAction.WakeRead, 60_000);
        timeouts.OnHeartbeat(Environment.TickCount64);
        timeouts.Disarm();
        timeouts.OnHeartbeat(long.MaxValue);
        Assert.Empty(handler.Actions);
        Assert.False(timeouts.TimedOut);

        // A shutdown wakes only a wait for a command, and never counts as a timeout.
        timeouts.Arm(TimeoutAction.WakeRead, 60_000);
        timeouts.RequestShutdown();
        Assert.Empty(handler.Actions);
        Assert.True(timeouts.ArmForCommand(60_000));
        timeouts.RequestShutdown();
        Assert.Equal([TimeoutAction.WakeCommandRead], handler.Actions);
        Assert.False(timeouts.TimedOut);
    }

    private sealed class RecordingHandler : ITimeoutHandler
    {
        public List<TimeoutAction> Actions { get; } = [];

        public void Interrupt(TimeoutAction action) => Actions.Add(action);
    }
}
