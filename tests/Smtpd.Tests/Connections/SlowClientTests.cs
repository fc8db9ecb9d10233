using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Tests.Connections;

/// <summary>Slowloris (issue 12 item 2): a command line has a deadline, a message a minimum data rate.</summary>
public class SlowClientTests
{
    /// <summary>Sends <paramref name="text"/> one byte every <paramref name="interval"/> until the server answers or closes; the time of that answer.</summary>
    private static async Task<(string? Reply, TimeSpan After)> TrickleAsync(RawClient client, string text, TimeSpan interval)
    {
        var clock = Stopwatch.StartNew();
        Task<string?> reply = client.ReadLineAsync(TimeSpan.FromSeconds(30));
        foreach (byte b in Encoding.ASCII.GetBytes(text))
        {
            if (await Task.WhenAny(reply, Task.Delay(interval)) == reply)
            {
                break;
            }

            try
            {
                await client.SendBytesAsync([b]);
            }
            catch (SocketException)
            {
                break;
            }
        }

        string? line = await reply;
        return (line, clock.Elapsed);
    }

    [Fact]
    public async Task A_trickled_command_line_gets_421_at_its_deadline_however_often_a_byte_arrives()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.SocketTimeout = TimeSpan.FromSeconds(3);
            o.HideEnhancedStatusCodes = false;
        });
        await using RawClient client = await server.ConnectAsync();

        // One byte every 200 ms: each well within the idle timeout (so that a pause of the shared machine does not end the
        // connection as idle), the line never complete.
        (string? reply, TimeSpan after) = await TrickleAsync(client, "NOOP " + new string('x', 50), TimeSpan.FromMilliseconds(200));
        Assert.Equal("421 4.4.2 Timeout - closing connection", reply);
        Assert.InRange(after.TotalMilliseconds, 2800, 7000);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task CommandTimeout_bounds_a_line_below_the_socket_timeout_and_complete_lines_restart_it()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.SocketTimeout = TimeSpan.FromSeconds(20);
            o.CommandTimeout = TimeSpan.FromMilliseconds(800);
        });
        await using RawClient client = await server.ConnectAsync();

        // Complete commands, each sent in two pieces well within the deadline, for longer than the deadline in total.
        for (int i = 0; i < 4; i++)
        {
            await client.SendAsync("NO");
            await Task.Delay(300);
            await client.SendAsync("OP\r\n");
            Assert.Equal("250 OK", (await client.ReadReplyAsync()).Line);
        }

        (string? reply, TimeSpan after) = await TrickleAsync(client, "NOOP " + new string('x', 40), TimeSpan.FromMilliseconds(150));
        Assert.Equal("421 Timeout - closing connection", reply);
        Assert.InRange(after.TotalMilliseconds, 600, 4000);
    }

    [Fact]
    public async Task A_message_trickled_below_the_minimum_data_rate_gets_421_after_the_grace_period()
    {
        int accepted = 0;
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (message, session, ct) =>
            {
                await message.CopyToAsync(Stream.Null, ct);
                Interlocked.Increment(ref accepted);
                return SmtpResult.Accept();
            };
        });
        await using RawClient client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);

        // 5 bytes a second, far below the default 500, each byte well within the 20 s socket timeout.
        (string? reply, TimeSpan after) = await TrickleAsync(client, "Subject: slow\r\n\r\n" + new string('x', 200), TimeSpan.FromMilliseconds(200));
        Assert.Equal("421 Timeout - closing connection", reply);
        Assert.InRange(after.TotalSeconds, 4.5, 9);
        Assert.True(await client.IsClosedAsync());
        Assert.Equal(0, accepted);
    }

    [Fact]
    public async Task MinDataRate_and_its_grace_period_are_options_and_0_disables_the_rate()
    {
        await using (TestServer server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MinDataRate = 1000;
            o.MinDataRateGracePeriod = TimeSpan.FromMilliseconds(500);
        }))
        {
            await using RawClient client = await OpenDataAsync(server);
            (string? reply, TimeSpan after) = await TrickleAsync(client, new string('x', 100), TimeSpan.FromMilliseconds(50));
            Assert.Equal("421 Timeout - closing connection", reply);
            Assert.InRange(after.TotalMilliseconds, 400, 3000);
        }

        await using (TestServer server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MinDataRate = 0;
            o.MinDataRateGracePeriod = TimeSpan.FromMilliseconds(100);
        }))
        {
            await using RawClient client = await OpenDataAsync(server);
            (string? reply, _) = await TrickleAsync(client, "abcdefghij\r\n.\r\n", TimeSpan.FromMilliseconds(100));
            Assert.StartsWith("250 ", reply);
        }
    }

    [Fact]
    public async Task Time_the_handler_spends_elsewhere_does_not_count_against_the_client()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MinDataRate = 100_000;
            o.MinDataRateGracePeriod = TimeSpan.FromMilliseconds(300);
            o.OnData = async (message, session, ct) =>
            {
                byte[] buffer = new byte[1000];
                while (await message.ReadAsync(buffer, ct) > 0)
                {
                    // A handler that writes slowly somewhere: 1.5 s in all, five times the grace period.
                    await Task.Delay(150, ct);
                }

                return SmtpResult.Accept();
            };
        });
        await using RawClient client = await OpenDataAsync(server);
        await client.SendAsync(new string('x', 8000) + "\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
    }

    /// <summary>
    /// BDAT's octets are held to the minimum rate whether they reach the handler or are read and discarded (a chunk refused
    /// before MAIL, one past the size limit, the rest of a chunk the handler left unread): trickling into data the server
    /// throws away must not hold a connection longer than trickling into a message.
    /// </summary>
    [Theory]
    [InlineData("delivered")]
    [InlineData("refused without MAIL")]
    [InlineData("refused over the size")]
    [InlineData("left unread by the handler")]
    public async Task A_BDAT_chunk_trickled_below_the_minimum_data_rate_gets_421_after_the_grace_period(string chunk)
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideChunking = false;
            if (chunk == "refused over the size")
            {
                o.Size = 100;
            }

            o.MinDataRate = 1000;
            o.MinDataRateGracePeriod = TimeSpan.FromMilliseconds(800);
            o.OnData = async (message, session, ct) =>
            {
                if (chunk != "left unread by the handler")
                {
                    await message.CopyToAsync(Stream.Null, ct);
                }

                return SmtpResult.Accept();
            };
        });
        await using RawClient client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        if (chunk != "refused without MAIL")
        {
            await client.CommandAsync("MAIL FROM:<a@b.c>");
            await client.CommandAsync("RCPT TO:<r@b.c>");
        }

        // 20 bytes a second, far below 1000; the 120 announced octets would take 6 s, every byte well within the socket timeout.
        await client.SendAsync("BDAT 120 LAST\r\n");
        (string? reply, TimeSpan after) = await TrickleAsync(client, new string('x', 120), TimeSpan.FromMilliseconds(50));
        Assert.Equal("421 Timeout - closing connection", reply);
        Assert.InRange(after.TotalMilliseconds, 600, 4500);
        Assert.True(await client.IsClosedAsync());
    }

    private static async Task<RawClient> OpenDataAsync(TestServer server)
    {
        RawClient client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        return client;
    }
}
