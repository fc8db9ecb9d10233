using System.Runtime.CompilerServices;

namespace Smtpd.Tests.Units;

/// <summary>
/// Issue 11, bug 5, against the engine as it was: the heartbeat read a deadline and then zeroed it with a plain write,
/// and the shutdown request and the command loop each set one volatile flag and read the other. Both are races; these
/// tests run the two sides on two threads many times and count the bad interleavings.
/// </summary>
public class TimeoutRaceTests
{
    private const int PhaseRead = 1;

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Arm")]
    private static extern void Arm(SmtpConnection connection, long timeoutMs, int phase);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_deadline")]
    private static extern ref long Deadline(SmtpConnection connection);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_inCommandRead")]
    private static extern ref bool InCommandRead(SmtpConnection connection);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_shutdownRequested")]
    private static extern ref bool ShutdownRequested(SmtpConnection connection);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_cancelRequested")]
    private static extern ref int CancelRequested(ConnectionReader reader);

    [Fact]
    public async Task A_heartbeat_never_fires_a_deadline_armed_after_it_read_the_expired_one()
    {
        await using var server = new SmtpServer(TestServer.Defaults());
        var connection = new SmtpConnection(server, null, new MemoryStream(), null, null);
        bool stop = false;
        var heartbeat = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                connection.OnHeartbeat(Environment.TickCount64);
            }
        });
        heartbeat.Start();
        long spurious = 0;
        try
        {
            var random = new Random(11);
            for (int i = 0; i < 5_000_000 && spurious == 0; i++)
            {
                Arm(connection, -1000, PhaseRead);
                Thread.SpinWait(random.Next(8));
                Arm(connection, 3_600_000, PhaseRead);
                Thread.SpinWait(8);

                // The hour-long deadline can only be gone if a heartbeat zeroed it after reading the expired one.
                if (Volatile.Read(ref Deadline(connection)) == 0)
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
    public async Task A_shutdown_request_and_the_command_loop_never_miss_each_other()
    {
        await using var server = new SmtpServer(TestServer.Defaults());
        var connection = new SmtpConnection(server, null, new MemoryStream(), null, null);
        var reader = (ConnectionReader)connection.Reader;
        const int rounds = 2_000_000;
        int round = 0;
        int ready = 0;
        bool requestSawLoop = false;
        var requester = new Thread(() =>
        {
            for (int i = 1; i <= rounds; i++)
            {
                int current;
                while ((current = Volatile.Read(ref round)) != i)
                {
                    if (current == int.MaxValue)
                    {
                        return;
                    }
                }

                connection.RequestShutdown();
                requestSawLoop = Volatile.Read(ref CancelRequested(reader)) == 1;
                Interlocked.Increment(ref ready);
            }
        });
        requester.Start();
        long missed = 0;
        for (int i = 1; i <= rounds && missed == 0; i++)
        {
            InCommandRead(connection) = false;
            ShutdownRequested(connection) = false;
            CancelRequested(reader) = 0;
            Volatile.Write(ref round, i);

            // The command loop's side, as it was: mark the wait for a command, then look for a shutdown request.
            Volatile.Write(ref InCommandRead(connection), true);
            bool loopSawRequest = Volatile.Read(ref ShutdownRequested(connection));
            while (Volatile.Read(ref ready) != i)
            {
            }

            if (!loopSawRequest && !requestSawLoop)
            {
                missed++;
            }
        }

        Volatile.Write(ref round, int.MaxValue);
        requester.Join();
        Assert.Equal(0, missed);
    }
}
