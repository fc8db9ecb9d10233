using System.Text;
using static Smtpd.Tests.Chunking.ChunkingServer;

namespace Smtpd.Tests.Chunking;

/// <summary>RFC 3030 CHUNKING over raw sockets: each chunk read exactly, one reply per chunk, the refusals that keep the session in step.</summary>
public class BdatTests
{
    [Fact]
    public async Task Chunks_are_data_exactly_even_where_they_look_like_commands_or_the_end_of_DATA()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);

        // The first chunk ends inside what would be CRLF.CRLF; the second starts with its rest and holds commands.
        string first = "Subject: chunks\r\n\r\n..not stuffed\r\nline\r\n.";
        string second = "\r\nQUIT\r\n.\r\nRSET\r\n\nbare\rends\0";
        await client.SendBytesAsync(Chunk(first));
        Assert.Equal($"250 OK: {first.Length} octets received", (await client.ReadReplyAsync()).Line);
        await client.SendBytesAsync(Chunk(second, last: true));
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal(first + second, Encoding.ASCII.GetString(capture.Messages.Single()));
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Pipelined_chunks_in_one_write_get_one_reply_each()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.HideEnhancedStatusCodes = false);
        RawClient client = await server.ConnectAsync();
        await using (client)
        {
            byte[] group = [.. Encoding.ASCII.GetBytes("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<r@example.org>\r\n"),
                .. Chunk("one\r\n"), .. Chunk("BDAT 99\r\n"), .. Chunk("three\r\n", last: true), .. Encoding.ASCII.GetBytes("NOOP\r\n")];
            await client.SendBytesAsync(group);
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
            Assert.Equal("250 2.1.0 Accepted", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 2.1.5 Accepted", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 2.0.0 OK: 5 octets received", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 2.0.0 OK: 9 octets received", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 2.6.0 OK: message queued", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 2.0.0 OK", (await client.ReadReplyAsync()).Line);
            Assert.Equal("one\r\nBDAT 99\r\nthree\r\n", Encoding.ASCII.GetString(capture.Messages.Single()));
        }
    }

    [Fact]
    public async Task A_chunk_split_across_many_packets_is_read_whole()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        byte[] data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 40).Select(i => $"line {i}\r\n.\r\n")));
        byte[] framed = Chunk(data, last: true);
        for (int i = 0; i < framed.Length; i += 7)
        {
            await client.SendBytesAsync(framed[i..Math.Min(framed.Length, i + 7)]);
            await Task.Delay(1);
        }

        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(data, capture.Messages.Single());
    }

    [Fact]
    public async Task Zero_length_chunks_and_BDAT_0_LAST_end_a_message()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync([.. Chunk(""), .. Chunk("body\r\n"), .. Chunk("")]);
        Assert.Equal("250 OK: 0 octets received", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK: 6 octets received", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK: 0 octets received", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK: message queued", (await client.CommandAsync("BDAT 0 LAST")).Line);
        Assert.Equal("body\r\n", Encoding.ASCII.GetString(capture.Messages.Single()));
    }

    [Fact]
    public async Task An_empty_message_by_BDAT_0_LAST_alone_is_a_message_of_zero_octets()
    {
        // RFC 3030: the last BDAT may have a size of zero; alone it carries a message of no octets, which the handler
        // receives (and may refuse, as any message) and whose transaction ends like any other.
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        Assert.Equal("250 OK: message queued", (await client.CommandAsync("BDAT 0 LAST")).Line);
        Assert.Empty(capture.Messages.Single());
        Assert.Equal("503 Error: need MAIL command", (await client.CommandAsync("BDAT 0 LAST")).Line);
    }

    [Fact]
    public async Task The_chunk_that_crosses_the_size_limit_gets_552_and_the_rest_of_the_transaction_is_discarded()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.Size = 100);
        await using var client = await OpenAsync(server);
        string forty = new string('x', 38) + "\r\n";
        await client.SendBytesAsync([.. Chunk(forty), .. Chunk(forty)]);
        Assert.Equal("250 OK: 40 octets received", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK: 40 octets received", (await client.ReadReplyAsync()).Line);

        // The third chunk crosses 100: refused, and the handler's stream fails at once (nothing was accepted), before
        // the client has ended the transaction.
        await client.SendBytesAsync(Chunk(forty));
        Assert.Equal("552 Error: message exceeds fixed maximum message size 100", (await client.ReadReplyAsync()).Line);
        await capture.WaitForHandlersAsync(1);
        Assert.IsAssignableFrom<IOException>(capture.Failures.Single());
        Assert.Empty(capture.Messages);

        // The rest of the transaction's chunks (pipelined) are read and discarded with the same reply.
        await client.SendBytesAsync([.. Chunk("RSET\r\n"), .. Chunk("NOOP\r\nNOOP\r\n", last: true)]);
        Assert.Equal("552 Error: message exceeds fixed maximum message size 100", (await client.ReadReplyAsync()).Line);
        Assert.Equal("552 Error: message exceeds fixed maximum message size 100", (await client.ReadReplyAsync()).Line);

        // The session goes on with a new transaction.
        Assert.Single(capture.Failures);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@example.org>")).Code);
        await client.SendBytesAsync(Chunk(forty, last: true));
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal(forty, Encoding.ASCII.GetString(capture.Messages.Single()));
    }

    [Fact]
    public async Task DATA_after_BDAT_in_the_same_transaction_is_refused()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("first\r\n"));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("503 Error: DATA not allowed during a BDAT transaction", (await client.CommandAsync("DATA")).Line);

        // The transaction is untouched: its last chunk completes the message.
        await client.SendBytesAsync(Chunk("second\r\n", last: true));
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal("first\r\nsecond\r\n", Encoding.ASCII.GetString(capture.Messages.Single()));
    }

    [Theory]
    [InlineData("MAIL FROM:<b@example.com>")]
    [InlineData("RCPT TO:<x@example.org>")]
    [InlineData("STARTTLS")]
    public async Task Commands_that_would_change_the_transaction_are_refused_between_chunks(string command)
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("first\r\n"));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Reply refused = await client.CommandAsync(command);
        Assert.Equal(503, refused.Code);
        Assert.EndsWith("not allowed during a BDAT transaction", refused.Line);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        await client.SendBytesAsync(Chunk("", last: true));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(["r0@example.org"], capture.Envelopes.Single().RcptTo.Select(r => r.Address));
    }

    [Fact]
    public async Task BDAT_without_MAIL_or_without_an_accepted_RCPT_is_refused_and_its_octets_are_consumed()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.OnRcptTo = (r, s, ct) => new(SmtpResult.Reject(550, "no")));
        RawClient client = await server.ConnectAsync();
        await using (client)
        {
            Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
            await client.SendBytesAsync(Chunk("QUIT\r\nRSET\r\n"));
            Assert.Equal("503 Error: need MAIL command", (await client.ReadReplyAsync()).Line);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
            Assert.Equal(550, (await client.CommandAsync("RCPT TO:<r@example.org>")).Code);
            await client.SendBytesAsync(Chunk("QUIT\r\n", last: true));
            Assert.Equal("503 Error: need RCPT command", (await client.ReadReplyAsync()).Line);

            // Nothing of the chunks ran as a command: the session is in step.
            Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
            Assert.Empty(capture.Messages);
        }
    }

    [Fact]
    public async Task BDAT_before_the_greeting_is_refused_and_its_octets_are_consumed()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        RawClient client = await server.ConnectAsync();
        await using (client)
        {
            await client.SendBytesAsync(Chunk("QUIT\r\n"));
            Assert.Equal("503 Error: send HELO/EHLO first", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        }
    }

    [Theory]
    [InlineData("BDAT")]
    [InlineData("BDAT ")]
    [InlineData("BDAT abc")]
    [InlineData("BDAT -5")]
    [InlineData("BDAT +5")]
    [InlineData("BDAT 5x")]
    [InlineData("BDAT 18446744073709551616")]
    [InlineData("BDAT 99999999999999999999")]
    [InlineData("BDAT 9223372036854775808")]
    [InlineData("BDAT 5 LAST extra")]
    [InlineData("BDAT 5 FIRST")]
    [InlineData("BDAT LAST")]
    public async Task A_BDAT_whose_size_cannot_be_read_gets_501_and_the_connection_closes(string line)
    {
        // The length of what follows is unknown, so it cannot be told from commands: the connection ends (the framing rule).
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendAsync(line + "\r\nQUIT\r\n");
        Assert.Equal("501 Error: Syntax: BDAT chunk-size [LAST]", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task The_largest_size_that_fits_64_bits_is_read_as_a_size()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.Size = 1000);
        await using var client = await OpenAsync(server);

        // A size, not a syntax error: the server reads (and, over the limit, discards) octets and answers nothing yet.
        await client.SendAsync("BDAT 9223372036854775807 LAST\r\nQUIT\r\n");
        await Assert.ThrowsAsync<TimeoutException>(() => client.ReadLineAsync(TimeSpan.FromMilliseconds(700)));
    }

    [Fact]
    public async Task RSET_abandons_the_chunks_and_the_next_transaction_starts_clean()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("abandoned\r\n"));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 Flushed", (await client.CommandAsync("RSET")).Line);
        await capture.WaitForHandlersAsync(1);
        Assert.IsAssignableFrom<IOException>(capture.Failures.Single());

        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@example.org>")).Code);
        await client.SendBytesAsync(Chunk("kept\r\n", last: true));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("kept\r\n", Encoding.ASCII.GetString(capture.Messages.Single()));
    }

    [Fact]
    public async Task A_new_EHLO_abandons_the_chunks_too()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("abandoned\r\n"));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO again.example")).Code);
        await capture.WaitForHandlersAsync(1);
        Assert.Single(capture.Failures);
        Assert.Equal("503 Error: need MAIL command", (await client.CommandAsync("BDAT 0 LAST")).Line);
    }

    [Fact]
    public async Task The_handler_reads_a_chunk_while_it_arrives()
    {
        // Never buffered whole: the handler sees the first bytes of a chunk before the client has sent the rest.
        var firstBytes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long total = 0;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, session, ct) =>
            {
                byte[] buffer = new byte[8192];
                int n;
                while ((n = await stream.ReadAsync(buffer, ct)) > 0)
                {
                    total += n;
                    if (total >= 1000)
                    {
                        firstBytes.TrySetResult();
                    }
                }

                return SmtpResult.Accept();
            };
        });
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync([.. Encoding.ASCII.GetBytes("BDAT 1000000 LAST\r\n"), .. new byte[1000]]);
        await firstBytes.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await client.SendBytesAsync(new byte[999_000]);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(1_000_000, total);
    }

    [Fact]
    public async Task A_client_that_announces_more_than_it_sends_is_cut_off_by_the_timeout()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.SocketTimeout = TimeSpan.FromSeconds(1));
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync([.. Encoding.ASCII.GetBytes("BDAT 10000000 LAST\r\n"), .. new byte[10]]);
        Assert.Equal("421 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(10))).Line);
        Assert.True(await client.IsClosedAsync());
        await capture.WaitForHandlersAsync(1);
        Assert.Empty(capture.Messages);
    }

    [Fact]
    public async Task A_refused_chunk_whose_octets_never_come_is_cut_off_by_the_timeout()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.SocketTimeout = TimeSpan.FromSeconds(1));
        RawClient client = await server.ConnectAsync();
        await using (client)
        {
            Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
            await client.SendAsync("BDAT 5000000\r\nabc");
            Assert.Equal("421 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(10))).Line);
            Assert.True(await client.IsClosedAsync());
        }
    }

    [Fact]
    public async Task BDAT_is_recognised_in_any_case()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server);
        await client.SendAsync("bdat 3\r\nabcBdAt 3 last\r\ndef");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal("abcdef", Encoding.ASCII.GetString(capture.Messages.Single()));
    }

    [Fact]
    public async Task In_LMTP_each_recipient_gets_its_reply_after_the_last_chunk()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o =>
        {
            o.Lmtp = true;
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                return SmtpResult.PerRecipient(SmtpResult.Accept(), SmtpResult.Reject(550, "mailbox full"));
            };
        });
        RawClient client = await server.ConnectAsync();
        await using (client)
        {
            Assert.Equal(250, (await client.CommandAsync("LHLO x")).Code);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<one@example.org>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<two@example.org>")).Code);
            await client.SendBytesAsync([.. Chunk("a\r\n"), .. Chunk("b\r\n", last: true)]);
            Assert.Equal("250 OK: 3 octets received", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 OK: message accepted", (await client.ReadReplyAsync()).Line);
            Assert.Equal("550 mailbox full", (await client.ReadReplyAsync()).Line);
            Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        }
    }

    [Fact]
    public async Task In_LMTP_a_refused_last_chunk_is_answered_once_per_recipient()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o =>
        {
            o.Lmtp = true;
            o.Size = 10;
        });
        RawClient client = await server.ConnectAsync();
        await using (client)
        {
            Assert.Equal(250, (await client.CommandAsync("LHLO x")).Code);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<one@example.org>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<two@example.org>")).Code);

            // The chunk that crosses the limit gets one reply; the last chunk ends the message: one reply per recipient.
            await client.SendBytesAsync([.. Chunk("0123456789abc"), .. Chunk("end\r\n", last: true)]);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal("552 Error: message exceeds fixed maximum message size 10", (await client.ReadReplyAsync()).Line);
            }

            Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
            Assert.Empty(capture.Messages);
        }
    }

    [Fact]
    public async Task A_refusal_by_the_handler_before_the_last_chunk_answers_that_chunk_and_the_rest()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, session, ct) =>
            {
                byte[] buffer = new byte[4];
                await stream.ReadExactlyAsync(buffer, ct);
                return SmtpResult.Reject(550, "spam");
            };
        });
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("spam spam spam\r\n"));
        Assert.Equal("550 spam", (await client.ReadReplyAsync()).Line);
        await client.SendBytesAsync([.. Chunk("more\r\n"), .. Chunk("end\r\n", last: true)]);
        Assert.Equal("550 spam", (await client.ReadReplyAsync()).Line);
        Assert.Equal("550 spam", (await client.ReadReplyAsync()).Line);
        Assert.Equal("503 Error: need MAIL command", (await client.CommandAsync("BDAT 0 LAST")).Line);
    }

    [Fact]
    public async Task A_handler_that_returns_early_gets_its_reply_after_the_rest_is_skipped()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.DisabledCommands = ["AUTH"];
            o.OnData = (stream, session, ct) => new(SmtpResult.Accept("taken without reading"));
        });
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync([.. Chunk("QUIT\r\n"), .. Chunk("RSET\r\n", last: true)]);
        Assert.Equal("250 OK: 6 octets received", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 taken without reading", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task A_server_that_starts_closing_between_chunks_lets_the_message_finish()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.CloseTimeout = TimeSpan.FromSeconds(20));
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("first\r\n"));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Task closing = server.Server.CloseAsync();
        Assert.True(server.Server.IsClosing);

        // The rest of the message is still taken; the next command is told the server is shutting down.
        await client.SendBytesAsync([.. Chunk("second\r\n"), .. Chunk("last\r\n", last: true)]);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal("421 Server shutting down", (await client.CommandAsync("NOOP")).Line);
        await closing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("first\r\nsecond\r\nlast\r\n", Encoding.ASCII.GetString(capture.Messages.Single()));
    }

    [Fact]
    public async Task The_connection_ending_between_chunks_abandons_the_message_before_the_close_handler()
    {
        var closed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.OnClose = (s, ct) =>
        {
            closed.TrySetResult(capture.Failures.Count);
            return default;
        });
        RawClient client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("part\r\n"));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        await client.DisposeAsync();

        // The DATA handler has ended (its read failed) by the time the close handler runs.
        Assert.Equal(1, await closed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(capture.Messages);
    }
}
