using System.Text;

namespace Smtpd.Tests.Data;

/// <summary>DATA over the wire: end of data, unstuffing, sizes, handler results, failures (§9, transcript D).</summary>
public class DataTests
{
    private sealed class Capture
    {
        public List<string> Bodies { get; } = [];

        public List<(long Length, bool Exceeded)> Sizes { get; } = [];
    }

    private static Task<TestServer> Server(Capture capture, Action<SmtpServerOptions>? more = null, Func<SmtpDataStream, SmtpSession, CancellationToken, ValueTask<SmtpResult>>? onData = null) =>
        TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnData = onData ?? (async (stream, session, ct) =>
            {
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, ct);
                capture.Bodies.Add(Encoding.UTF8.GetString(copy.ToArray()));
                capture.Sizes.Add((stream.ByteLength, stream.SizeExceeded));
                return SmtpResult.Accept();
            });
            more?.Invoke(o);
        });

    /// <summary>Connects, sends EHLO, MAIL and <paramref name="recipients"/> RCPTs and DATA; the client is at the 354.</summary>
    internal static async Task<RawClient> OpenTransaction(TestServer server, int recipients = 1)
    {
        RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        for (int i = 0; i < recipients; i++)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<r{i}@b.c>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        return client;
    }

    [Theory]
    [InlineData("Subject: t\r\n\r\n..leading\r\n.x\r\nline\r\n.\r\n", "Subject: t\r\n\r\n.leading\r\n.x\r\nline\r\n")]
    [InlineData(".\r\n", "")]
    [InlineData("\r\n.\r\n", "\r\n")]
    [InlineData("hello\r\n.\r\n", "hello\r\n")]
    [InlineData("a\n.\nb\r\n.\nc\n.\r\nd\r\n.\r\n", "a\n.\nb\r\n.\nc\n.\r\nd\r\n")]
    [InlineData("a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n")]
    [InlineData("..\r\n.\r\n", ".\r\n")]
    [InlineData("x\n..y\r\n.\r\n", "x\n.y\r\n")]
    [InlineData(".\rx\r\n.\r\n", ".\rx\r\n")]
    [InlineData("bare\rcr\r\n.\r\n", "bare\rcr\r\n")]
    public async Task End_of_data_and_unstuffing(string sent, string expected)
    {
        var capture = new Capture();
        await using var server = await Server(capture);
        await using var client = await OpenTransaction(server);
        await client.SendAsync(sent);
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal(expected, capture.Bodies.Single());
        Assert.Equal(Encoding.UTF8.GetByteCount(expected), capture.Sizes.Single().Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    public async Task Any_split_of_the_input_gives_the_same_message(int chunk)
    {
        var capture = new Capture();
        await using var server = await Server(capture);
        await using var client = await OpenTransaction(server);
        string sent = "..first\r\n.\r.\nx\r\n\r\n..\r\n.. \r\nend\r\n.\r\nNOOP\r\n";
        byte[] bytes = Encoding.ASCII.GetBytes(sent);
        for (int i = 0; i < bytes.Length; i += chunk)
        {
            await client.SendBytesAsync(bytes[i..Math.Min(bytes.Length, i + chunk)]);
            await Task.Delay(1);
        }

        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 OK", (await client.ReadReplyAsync()).Line);
        Assert.Equal(".first\r\n.\r.\nx\r\n\r\n.\r\n. \r\nend\r\n", capture.Bodies.Single());
    }

    [Fact]
    public async Task SMTP_smuggling_bare_LF_dot_never_ends_the_message()
    {
        var capture = new Capture();
        SmtpSession? session = null;
        int mails = 0;
        await using var server = await Server(capture, o => o.OnMailFrom = (a, s, ct) =>
        {
            session = s;
            mails++;
            return default;
        });
        await using var client = await OpenTransaction(server);
        await client.SendAsync("body\n.\nMAIL FROM:<evil@x.y>\nRCPT TO:<victim@x.y>\nDATA\nsmuggled\n.\r\nmore\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(1, mails);
        Assert.Equal("body\n.\nMAIL FROM:<evil@x.y>\nRCPT TO:<victim@x.y>\nDATA\nsmuggled\n.\r\nmore\r\n", capture.Bodies.Single());
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Commands_pipelined_after_the_dot_run_after_the_reply()
    {
        var capture = new Capture();
        await using var server = await Server(capture);
        await using var client = await OpenTransaction(server);
        await client.SendAsync("m1\r\n.\r\nMAIL FROM:<b@b.c>\r\nRCPT TO:<r@b.c>\r\nDATA\r\n");
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        await client.SendAsync("m2\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(["m1\r\n", "m2\r\n"], capture.Bodies);
    }

    [Fact]
    public async Task SizeExceeded_is_live_and_the_transfer_goes_on()
    {
        var flags = new List<bool>();
        var capture = new Capture();
        await using var server = await Server(capture, o => o.Size = 1024, async (stream, session, ct) =>
        {
            flags.Add(stream.SizeExceeded);
            byte[] buffer = new byte[1024];
            while (await stream.ReadAsync(buffer, ct) > 0)
            {
                flags.Add(stream.SizeExceeded);
            }

            capture.Sizes.Add((stream.ByteLength, stream.SizeExceeded));
            return SmtpResult.Accept();
        });
        await using var client = await OpenTransaction(server);
        for (int i = 0; i < 8; i++)
        {
            await client.SendAsync(new string('x', 1022) + "\r\n");
            await Task.Delay(5);
        }

        await client.SendAsync(".\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.False(flags[0]);
        Assert.Contains(true, flags);
        Assert.Equal((8192L, true), capture.Sizes.Single());
    }

    [Fact]
    public async Task RejectOversized_refuses_after_the_whole_message()
    {
        var capture = new Capture();
        await using var server = await Server(capture, o =>
        {
            o.Size = 10;
            o.RejectOversized = true;
            o.HideEnhancedStatusCodes = false;
        });
        await using var client = await OpenTransaction(server);
        await client.SendAsync("123456789012345678\r\n.\r\n");
        Assert.Equal("552 5.3.4 Error: message exceeds fixed maximum message size 10", (await client.ReadReplyAsync()).Line);
        Assert.Single(capture.Bodies);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Oversized_message_is_accepted_without_RejectOversized()
    {
        var capture = new Capture();
        await using var server = await Server(capture, o => o.Size = 10);
        await using var client = await OpenTransaction(server);
        await client.SendAsync("1234567890123456\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal((18L, true), capture.Sizes.Single());
    }

    [Theory]
    [InlineData(550, "Spam", null, "550 5.1.1 Spam")]
    [InlineData(554, "Spam", "5.7.1", "554 5.7.1 Spam")]
    [InlineData(452, "Mailbox full", null, "452 4.2.2 Mailbox full")]
    public async Task Handler_rejection_is_the_reply(int code, string text, string? enhanced, string expected)
    {
        var capture = new Capture();
        await using var server = await Server(capture, o => o.HideEnhancedStatusCodes = false, async (stream, session, ct) =>
        {
            await stream.CopyToAsync(Stream.Null, ct);
            return SmtpResult.Reject(code, text, enhanced);
        });
        await using var client = await OpenTransaction(server);
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal(expected, (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task SmtpException_without_a_code_gives_450()
    {
        await using var server = await Server(new Capture(), onData: (stream, session, ct) => throw new SmtpException("Rejected content"));
        await using var client = await OpenTransaction(server);
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal("450 Rejected content", (await client.ReadReplyAsync()).Line);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Custom_success_text()
    {
        await using var server = await Server(new Capture(), onData: (stream, session, ct) => new(SmtpResult.Accept("Queued!")));
        await using var client = await OpenTransaction(server);
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal("250 Queued!", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task A_handler_that_returns_without_reading_is_drained_and_the_reply_waits_for_the_dot()
    {
        await using var server = await Server(new Capture(), onData: (stream, session, ct) => new(SmtpResult.Accept("early")));
        await using var client = await OpenTransaction(server);
        await client.SendAsync(new string('y', 100_000) + "\r\n");
        await Task.Delay(50);
        await client.SendAsync(new string('z', 100_000) + "\r\n.\r\nNOOP\r\n");
        Assert.Equal("250 early", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task A_handler_that_throws_gets_451_and_the_session_goes_on()
    {
        await using var server = await Server(new Capture(), o => o.HideEnhancedStatusCodes = false, (stream, session, ct) => throw new InvalidOperationException("boom"));
        await using var client = await OpenTransaction(server);
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal("451 4.3.0 Error: internal server error", (await client.ReadReplyAsync()).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
    }

    [Fact]
    public async Task A_client_that_vanishes_mid_DATA_fails_the_read_and_nothing_is_acknowledged()
    {
        var failure = new TaskCompletionSource<Exception?>();
        bool returned = false;
        await using var server = await Server(new Capture(), onData: async (stream, session, ct) =>
        {
            try
            {
                await stream.CopyToAsync(Stream.Null, ct);
                failure.TrySetResult(null);
            }
            catch (Exception ex)
            {
                failure.TrySetResult(ex);
                throw;
            }

            returned = true;
            return SmtpResult.Accept();
        });
        var client = await OpenTransaction(server);
        await client.SendAsync("partial message\r\nwithout end");
        await Task.Delay(50);
        client.Socket.Close();
        Exception? error = await failure.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsType<IOException>(error);
        Assert.False(returned);
    }

    [Fact]
    public async Task Sync_Read_is_refused_so_no_thread_blocks_on_the_network()
    {
        Exception? error = null;
        await using var server = await Server(new Capture(), onData: async (stream, session, ct) =>
        {
            error = Record.Exception(() => stream.Read(new byte[10], 0, 10));
            await stream.CopyToAsync(Stream.Null, ct);
            return default;
        });
        await using var client = await OpenTransaction(server);
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.IsType<NotSupportedException>(error);
    }

    [Fact]
    public async Task Tiny_read_buffers_still_see_every_byte()
    {
        string? body = null;
        await using var server = await Server(new Capture(), onData: async (stream, session, ct) =>
        {
            var bytes = new List<byte>();
            byte[] one = new byte[1];
            while (await stream.ReadAsync(one, ct) == 1)
            {
                bytes.Add(one[0]);
            }

            body = Encoding.ASCII.GetString(bytes.ToArray());
            return default;
        });
        await using var client = await OpenTransaction(server);
        await client.SendAsync(".\r.x\r\n..\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(".\r.x\r\n.\r\n", body);
    }

    [Fact]
    public async Task Transaction_counter_and_reset_after_DATA()
    {
        var sessions = new List<(int Transaction, int Recipients)>();
        await using var server = await Server(new Capture(), onData: async (stream, session, ct) =>
        {
            await stream.CopyToAsync(Stream.Null, ct);
            sessions.Add((session.Transaction, session.Envelope.RcptTo.Count));
            return SmtpResult.Reject(550, "no");
        });
        await using var client = await OpenTransaction(server);
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);
        Assert.Equal(503, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("DATA");
        await client.SendAsync("y\r\n.\r\n");
        await client.ReadReplyAsync();
        Assert.Equal([(1, 1), (2, 1)], sessions);
    }

    [Fact]
    public async Task Default_handler_consumes_and_accepts()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await OpenTransaction(server);
        await client.SendAsync(new string('q', 200_000) + "\r\n.\r\n");
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
    }
}
