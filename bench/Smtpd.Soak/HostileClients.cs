using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Soak;

/// <summary>
/// The hostile sessions mixed into the load, each kind in its own loops until the legitimate load is done: slowloris
/// (a command line or a message trickled a byte at a time), floods of bad commands (unknown verbs, binary junk, an
/// endless line, commands out of sequence), aborted TLS (closed after STARTTLS, garbage instead of a handshake, reset
/// after it), over-size messages (declared and actual) and clients vanishing in the middle of DATA. Messages they
/// send carry ids above the legitimate range: the server must never accept one of them.
/// </summary>
internal sealed class HostileClients(SoakOptions options, EndPoint server, SoakStats stats)
{
    private static readonly byte[] Ehlo = Encoding.ASCII.GetBytes("EHLO hostile.soak.test\r\n");

    /// <summary>The soak server's idle and handshake timeout: the library's default.</summary>
    private static readonly TimeSpan ServerSocketTimeout = new SmtpServerOptions().SocketTimeout;
    private int _nextId = options.Messages;
    private long _longestSlowlorisMs;

    /// <summary>How long the server let the longest slowloris connection stay open.</summary>
    public TimeSpan LongestSlowloris => TimeSpan.FromMilliseconds(Interlocked.Read(ref _longestSlowlorisMs));

    public Task RunAsync(CancellationToken loadDone)
    {
        var loops = new List<Task>();
        void Start(int count, Func<int, Task> session, TimeSpan pause)
        {
            for (int i = 0; i < count; i++)
            {
                int loop = i;
                loops.Add(Task.Run(async () =>
                {
                    for (int round = loop; !loadDone.IsCancellationRequested; round += count)
                    {
                        await session(round);
                        await Task.Delay(pause, CancellationToken.None);
                    }
                }, CancellationToken.None));
            }
        }

        Start(options.Slowloris, round => SlowlorisAsync(data: round % 2 == 1, loadDone), TimeSpan.FromMilliseconds(100));
        Start(options.Floods, FloodAsync, TimeSpan.FromMilliseconds(200));
        Start(options.AbortedTls, AbortedTlsAsync, TimeSpan.FromMilliseconds(200));
        Start(options.Oversize, OversizeAsync, TimeSpan.FromMilliseconds(500));
        Start(options.Vanishing, _ => VanishingAsync(), TimeSpan.FromMilliseconds(200));
        return Task.WhenAll(loops);
    }

    /// <summary>A command line (or, with <paramref name="data"/>, a message) trickled one byte every interval, never finished.</summary>
    private async Task SlowlorisAsync(bool data, CancellationToken loadDone)
    {
        string kind = data ? "slowloris in DATA" : "slowloris command line";
        await Guarded(kind, async connection =>
        {
            if (!await OpenAsync(connection) || (data && !await EnvelopeAsync(connection)))
            {
                return "refused before the trickle";
            }

            var clock = Stopwatch.StartNew();
            Task<int> reply = connection.ReadReplyAsync();
            byte[] trickle = Encoding.ASCII.GetBytes(data ? $"X-Soak-Id: {NextId():D9}\r\nSubject: slow\r\n\r\n" + new string('z', 4096) : "NOOP " + new string('z', 4096));
            string? closed = null;
            for (int i = 0; i < trickle.Length && clock.Elapsed < options.SlowlorisHold && !loadDone.IsCancellationRequested; i++)
            {
                await connection.SendAsync(trickle.AsMemory(i, 1));
                if (await Task.WhenAny(reply, Task.Delay(options.SlowlorisInterval, CancellationToken.None)) == reply)
                {
                    closed = (await reply == 0 ? "closed by the server" : $"{await reply} from the server") + " while trickling";
                    break;
                }
            }

            long held = clock.ElapsedMilliseconds;
            long longest;
            while (held > (longest = Interlocked.Read(ref _longestSlowlorisMs)) && Interlocked.CompareExchange(ref _longestSlowlorisMs, held, longest) != longest)
            {
            }

            connection.Abort();
            return closed ?? (clock.Elapsed >= options.SlowlorisHold
                ? $"held by the server until the client gave up ({options.SlowlorisHold.TotalSeconds:0} s)"
                : "held by the server until the load ended");
        });
    }

    private Task FloodAsync(int round) => (round % 4) switch
    {
        0 => Flood("flood of unknown commands", string.Concat(Enumerable.Repeat("XYZZY flood\r\n", 200))),
        1 => Flood("flood of binary junk", Junk(4096)),
        2 => Flood("endless command line", new string('A', 64 * 1024)),
        _ => Flood("flood of out-of-sequence commands", string.Concat(Enumerable.Repeat("RCPT TO:<x@soak.test>\r\n", 500)) + "QUIT\r\n"),
    };

    /// <summary>Sends everything at once, then reads replies until the server closes: the outcome is the last reply.</summary>
    private Task Flood(string kind, string text) => Guarded(kind, async connection =>
    {
        if (!await OpenAsync(connection))
        {
            return "refused at the greeting";
        }

        await connection.SendAsync(Encoding.Latin1.GetBytes(text));
        int last = 0;
        int replies = 0;
        for (int code; (code = await connection.ReadReplyAsync()) != 0; last = code)
        {
            replies++;
        }

        return $"closed by the server after {(replies > 50 ? "many replies" : replies + " replies")}, the last {last}";
    });

    private Task AbortedTlsAsync(int round) => Guarded("aborted TLS", async connection =>
    {
        if (!await OpenAsync(connection))
        {
            return "refused at the greeting";
        }

        await connection.SendAsync("STARTTLS\r\n"u8.ToArray());
        if (await connection.ReadReplyAsync() != 220)
        {
            return "STARTTLS refused";
        }

        switch (round % 3)
        {
            case 0:
                connection.Abort();
                return "reset right after 220";
            case 1:
                // Junk that happens to start like a TLS record (0x16) announces more bytes than it sends: the server
                // then waits for them until its handshake timeout (SocketTimeout, 60 s by default), so wait past that.
                await connection.SendAsync(Encoding.Latin1.GetBytes(Junk(300)));
                var clock = Stopwatch.StartNew();
                await connection.WaitForCloseAsync(ServerSocketTimeout + TimeSpan.FromSeconds(15));
                return clock.Elapsed < options.Timeout
                    ? "garbage handshake, closed by the server"
                    : "garbage handshake, closed by the server at its handshake timeout";
            default:
                await connection.StartTlsAsync();
                connection.Abort();
                return "reset after a completed handshake";
        }
    });

    private Task OversizeAsync(int round) => Guarded(round % 2 == 0 ? "over-size declared (SIZE=)" : "over-size message", async connection =>
    {
        if (!await OpenAsync(connection))
        {
            return "refused at the greeting";
        }

        if (round % 2 == 0)
        {
            await connection.SendAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<big@client.test> SIZE={options.SizeLimit * 2L}\r\n"));
            return $"MAIL answered {await connection.ReadReplyAsync()}";
        }

        if (!await EnvelopeAsync(connection))
        {
            return "envelope refused";
        }

        var message = new SoakMessage(options.SizeLimit * 3);
        message.WriteId(NextId());
        await connection.SendAsync(message.Bytes);
        return $"message answered {await connection.ReadReplyAsync()}";
    });

    private Task VanishingAsync() => Guarded("vanishing in DATA", async connection =>
    {
        if (!await OpenAsync(connection) || !await EnvelopeAsync(connection))
        {
            return "refused before DATA";
        }

        var message = new SoakMessage(options.MessageBytes);
        message.WriteId(NextId());
        await connection.SendAsync(message.Bytes.AsMemory(0, message.Bytes.Length / 2));
        connection.Abort();
        return "reset in the middle of the message";
    });

    private static async Task<bool> OpenAsync(SoakConnection connection)
    {
        if (await connection.ReadReplyAsync() != 220)
        {
            return false;
        }

        await connection.SendAsync(Ehlo);
        return await connection.ReadReplyAsync() == 250;
    }

    private static async Task<bool> EnvelopeAsync(SoakConnection connection)
    {
        await connection.SendAsync("MAIL FROM:<hostile@client.test>\r\nRCPT TO:<rcpt@soak.test>\r\nDATA\r\n"u8.ToArray());
        return await connection.ReadReplyAsync() == 250 & await connection.ReadReplyAsync() == 250 & await connection.ReadReplyAsync() == 354;
    }

    private int NextId() => Interlocked.Increment(ref _nextId);

    private static string Junk(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        for (int i = 64; i < length; i += 64)
        {
            bytes[i - 1] = (byte)'\n';
            bytes[i - 2] = (byte)'\r';
        }

        return Encoding.Latin1.GetString(bytes);
    }

    private async Task Guarded(string kind, Func<SoakConnection, Task<string>> session)
    {
        try
        {
            await using SoakConnection connection = await SoakConnection.ConnectAsync(server, options.Timeout);
            stats.Record(kind, await session(connection));
        }
        catch (SoakHangException ex)
        {
            stats.RecordHang(kind, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            stats.Record(kind, "connection error: " + ex.GetType().Name);
        }
    }
}
