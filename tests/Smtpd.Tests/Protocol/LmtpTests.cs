using System.Text;

namespace Smtpd.Tests.Protocol;

/// <summary>LMTP mode (§14): LHLO, and one reply per accepted recipient after DATA.</summary>
public class LmtpTests
{
    private static Task<TestServer> Lmtp(Func<SmtpDataStream, SmtpSession, CancellationToken, ValueTask<SmtpResult>>? onData = null, Action<SmtpServerOptions>? more = null) =>
        TestServer.StartAsync(o =>
        {
            o.Lmtp = true;
            o.DisabledCommands = ["AUTH"];
            if (onData is not null)
            {
                o.OnData = onData;
            }

            more?.Invoke(o);
        });

    private static async Task<RawClient> Transaction(TestServer server, params string[] recipients)
    {
        RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("LHLO client.example.com")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@b.c>")).Code);
        foreach (string r in recipients)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{r}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\n");
        return client;
    }

    [Fact]
    public async Task HELO_and_EHLO_are_refused_and_LHLO_opens_the_session()
    {
        await using var server = await Lmtp();
        await using var client = await server.ConnectAsync();
        Assert.Equal("500 Error: EHLO not allowed in LMTP server", (await client.CommandAsync("EHLO a")).Line);
        Assert.Equal("500 Error: HELO not allowed in LMTP server", (await client.CommandAsync("HELO a")).Line);
        Assert.Equal("503 Error: send LHLO first", (await client.CommandAsync("MAIL FROM:<s@b.c>")).Line);
        Reply lhlo = await client.CommandAsync("LHLO client.example.com");
        Assert.Equal("250-mx.test Nice to meet you, [127.0.0.1]", lhlo.Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@b.c>")).Code);
    }

    [Fact]
    public async Task LHLO_is_unknown_in_SMTP_mode()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        Assert.Equal(500, (await client.CommandAsync("LHLO x")).Code);
    }

    [Fact]
    public async Task Default_reply_for_every_recipient()
    {
        await using var server = await Lmtp(more: o => o.HideEnhancedStatusCodes = false);
        await using var client = await Transaction(server, "a@b.c", "b@b.c");
        Assert.Equal("250 2.6.0 OK: message accepted", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 2.6.0 OK: message accepted", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task RSET_ends_the_transaction_so_the_next_message_gets_one_reply_per_recipient()
    {
        // Issue 11, bug 1: RSET reset the envelope but not the LMTP reply map, so this message got two replies for
        // its one recipient and every later reply was off by one.
        await using var server = await Lmtp();
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("LHLO client.example.com")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<x@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<y@b.c>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\n");
        Assert.Equal("250 OK: message accepted", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
    }

    [Fact]
    public async Task One_result_per_recipient()
    {
        await using var server = await Lmtp(async (stream, session, ct) =>
        {
            await stream.CopyToAsync(Stream.Null, ct);
            return SmtpResult.PerRecipient(SmtpResult.Accept("Delivered to a"), SmtpResult.Reject(550, "No such user"));
        });
        await using var client = await Transaction(server, "a@b.c", "b@b.c");
        Assert.Equal("250 Delivered to a", (await client.ReadReplyAsync()).Line);
        Assert.Equal("550 No such user", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task A_rejection_repeats_for_every_recipient()
    {
        await using var server = await Lmtp((stream, session, ct) => new(SmtpResult.Reject(452, "Mailbox full")));
        await using var client = await Transaction(server, "a@b.c", "b@b.c");
        Assert.Equal("452 Mailbox full", (await client.ReadReplyAsync()).Line);
        Assert.Equal("452 Mailbox full", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task A_repeated_recipient_still_gets_its_own_reply()
    {
        // RFC 2033: one reply per successful RCPT. The reference answers per unique address and leaves the client waiting.
        await using var server = await Lmtp();
        await using var client = await Transaction(server, "a@b.c", "A@b.c");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Fewer_results_than_recipients_gives_451_for_the_rest()
    {
        await using var server = await Lmtp((stream, session, ct) => new(SmtpResult.PerRecipient(SmtpResult.Accept())));
        await using var client = await Transaction(server, "a@b.c", "b@b.c");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(451, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task RejectOversized_gives_552_per_recipient()
    {
        await using var server = await Lmtp(more: o =>
        {
            o.Size = 5;
            o.RejectOversized = true;
        });
        await using var client = await Transaction(server, "a@b.c", "b@b.c");
        Assert.StartsWith("552 ", (await client.ReadReplyAsync()).Line);
        Assert.StartsWith("552 ", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task Transmission_type_is_LMTP()
    {
        string? type = null;
        await using var server = await Lmtp(async (stream, session, ct) =>
        {
            type = session.TransmissionType;
            await stream.CopyToAsync(Stream.Null, ct);
            return default;
        });
        await using var client = await Transaction(server, "a@b.c");
        await client.ReadReplyAsync();
        Assert.Equal("LMTP", type);
        _ = Encoding.ASCII;
    }
}
