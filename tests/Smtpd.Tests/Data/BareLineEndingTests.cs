using System.Text;

namespace Smtpd.Tests.Data;

/// <summary>The bare LF/CR policy of DATA (issue 12 item 6; Postfix's <c>smtpd_forbid_bare_newline</c>).</summary>
public class BareLineEndingTests
{
    /// <summary>The smuggling shapes of issue 12: a terminator with a bare LF or bare CRs, then a second "message".</summary>
    private const string Smuggling = "Subject: one\r\n\r\nfirst\n.\r\nMAIL FROM:<evil@x.example>\r\n\r\r.\rsecond\r\n.\r\n";

    private static Task<TestServer> Server(SmtpBareLineEndings policy, List<string> bodies, Action<SmtpServerOptions>? more = null) => TestServer.StartAsync(o =>
    {
        o.DisabledCommands = ["AUTH"];
        o.HideEnhancedStatusCodes = false;
        o.BareLineEndings = policy;
        o.OnData = async (stream, session, ct) =>
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, ct);
            bodies.Add(Encoding.Latin1.GetString(copy.ToArray()));
            return SmtpResult.Accept();
        };
        more?.Invoke(o);
    });

    private static Task<RawClient> OpenTransactionAsync(TestServer server, int recipients = 1) => DataTests.OpenTransaction(server, recipients);

    [Fact]
    public async Task Accept_keeps_bare_line_endings_as_sent()
    {
        var bodies = new List<string>();
        await using TestServer server = await Server(SmtpBareLineEndings.Accept, bodies);
        await using RawClient client = await OpenTransactionAsync(server);
        await client.SendAsync(Smuggling);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("Subject: one\r\n\r\nfirst\n.\r\nMAIL FROM:<evil@x.example>\r\n\r\r.\rsecond\r\n", Assert.Single(bodies));
    }

    [Fact]
    public async Task Normalize_stores_CRLF_everywhere_in_one_message()
    {
        var bodies = new List<string>();
        await using TestServer server = await Server(SmtpBareLineEndings.Normalize, bodies);
        await using RawClient client = await OpenTransactionAsync(server);
        await client.SendAsync(Smuggling);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<evil@x.example>\r\n\r\n\r\n.\r\nsecond\r\n", Assert.Single(bodies));
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Normalize_settles_a_CR_at_the_end_of_one_packet_with_the_first_byte_of_the_next()
    {
        var bodies = new List<string>();
        await using TestServer server = await Server(SmtpBareLineEndings.Normalize, bodies);
        await using RawClient client = await OpenTransactionAsync(server);
        await client.SendAsync("one\r");
        await Task.Delay(100);
        await client.SendAsync("\ntwo\r");
        await Task.Delay(100);
        await client.SendAsync("three\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("one\r\ntwo\r\nthree\r\n", Assert.Single(bodies));
    }

    [Fact]
    public async Task Reject_answers_550_5_5_2_after_the_whole_message_and_the_session_goes_on()
    {
        var bodies = new List<string>();
        Exception? seen = null;
        await using TestServer server = await Server(SmtpBareLineEndings.Reject, bodies, o => o.OnData = async (stream, session, ct) =>
        {
            try
            {
                await stream.CopyToAsync(Stream.Null, ct);
            }
            catch (SmtpException ex)
            {
                seen = ex;
                throw;
            }

            bodies.Add("stored");
            return SmtpResult.Accept();
        });
        await using RawClient client = await OpenTransactionAsync(server);
        await client.SendAsync(Smuggling);
        Assert.Equal("550 5.5.2 Error: bare <CR> or <LF> in the message, lines must end with <CR><LF>", (await client.ReadReplyAsync()).Line);
        Assert.Empty(bodies);
        Assert.Equal(550, Assert.IsType<SmtpException>(seen).ResponseCode);

        // The framing held: the "second message" was message text, and the next transaction works.
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: clean\r\n\r\nfine\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(["stored"], bodies);
    }

    [Fact]
    public async Task Reject_overrides_a_handler_that_accepts_without_reading_and_answers_each_LMTP_recipient()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.Lmtp = true;
            o.DisabledCommands = ["AUTH"];
            o.BareLineEndings = SmtpBareLineEndings.Reject;
            o.OnData = (stream, session, ct) => new(SmtpResult.Accept());
        });
        await using RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("LHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r1@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r2@b.c>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("a\rb\r\n.\r\n");
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Reject_accepts_CRLF_split_across_packets()
    {
        var bodies = new List<string>();
        await using TestServer server = await Server(SmtpBareLineEndings.Reject, bodies);
        await using RawClient client = await OpenTransactionAsync(server);
        await client.SendAsync("one\r");
        await Task.Delay(100);
        await client.SendAsync("\ntwo\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("one\r\ntwo\r\n", Assert.Single(bodies));
    }
}
