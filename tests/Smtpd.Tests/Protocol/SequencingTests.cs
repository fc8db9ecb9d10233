namespace Smtpd.Tests.Protocol;

/// <summary>The "Sequencing" and "Basic" rows of the reference's protocol tests (§18.5), over the wire.</summary>
public class SequencingTests
{
    private const string Mail = "MAIL FROM:<sender@example.com>";
    private const string Rcpt = "RCPT TO:<rcpt@example.com>";
    private const string E = "EHLO client.example.com";

    private static Task<TestServer> PlainServer() => TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);

    public static TheoryData<string[], int[]> Cases => new()
    {
        { [Mail], [503] },
        { [Rcpt], [503] },
        { ["DATA"], [503] },
        { [E, Rcpt], [250, 503] },
        { [E, "DATA"], [250, 503] },
        { [E, Mail, "DATA"], [250, 250, 503] },
        { [E, Mail, Mail], [250, 250, 503] },
        { [E, Mail, "RSET", Rcpt], [250, 250, 250, 503] },
        { [E, Mail, E, Rcpt], [250, 250, 250, 503] },
        { ["HELO h", Mail, "HELO h", Rcpt], [250, 250, 250, 503] },
        { [E, "RSET", Mail], [250, 250, 250] },
        { ["ehlo client.example.com", "mail from:<sender@example.com>", "rcpt to:<rcpt@example.com>"], [250, 250, 250] },
        { ["HELO h", Mail], [250, 250] },
        { ["HELO"], [501] },
        { ["HELO client example.com"], [501] },
        { ["EHLO"], [501] },
        { ["EHLO client example.com"], [501] },
        { ["NOOP"], [250] },
        { ["HELP"], [214] },
        { ["VRFY user"], [252] },
        { ["VRFY"], [501] },
        { ["EXPN list"], [500] },
        { [""], [500] },
        { [E, "MAIL FROM:<>"], [250, 250] },
        { [E, Mail, "RCPT TO:<postmaster>", "RCPT TO:<PostMaster>"], [250, 250, 250, 250] },
        { [E, "MAIL FROM:<postmaster>"], [250, 501] },
        { [E, Mail, "RCPT TO:<user>"], [250, 250, 501] },
        { [E, "MAIL FROM:<@relay.example.com,@other.example.com:sender@example.com>", "RCPT TO:<@relay.example.com:rcpt@example.com>"], [250, 250, 250] },
        { [E, "MAIL FROM:<\"sender\"@example.com>"], [250, 250] },
        { [E, "MAIL FROM:sender@example.com"], [250, 501] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Reply_codes_match_the_reference(string[] commands, int[] codes)
    {
        await using var server = await PlainServer();
        await using var client = await server.ConnectAsync();
        var actual = new List<int>();
        foreach (string command in commands)
        {
            actual.Add((await client.CommandAsync(command)).Code);
        }

        Assert.Equal(codes, actual);
    }

    [Fact]
    public async Task QUIT_closes_the_connection_and_ignores_what_follows()
    {
        await using var server = await PlainServer();
        await using var client = await server.ConnectAsync();
        await client.SendAsync("QUIT\r\nNOOP\r\n");
        Assert.Equal("221 Bye", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Exact_texts_of_the_sequencing_errors()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideEnhancedStatusCodes = false;
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("500 5.5.2 Error: command not recognized", (await client.CommandAsync("AUTH PLAIN")).Line);
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("503 5.5.1 Error: need MAIL command", (await client.CommandAsync("RCPT TO:<a@b.c>")).Line);
        Assert.Equal("503 5.5.1 Error: need RCPT command", (await client.CommandAsync("DATA")).Line);
        Assert.Equal("250 2.1.0 Accepted", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("503 5.5.1 Error: nested MAIL command", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("250 2.1.5 Accepted", (await client.CommandAsync("RCPT TO:<r@b.c>")).Line);
        Assert.Equal("501 5.1.3 Error: Bad recipient address syntax", (await client.CommandAsync("RCPT TO:<user>")).Line);
        Assert.Equal("250 2.0.0 Flushed", (await client.CommandAsync("RSET")).Line);
        Assert.Equal("501 5.1.7 Error: Bad sender address syntax", (await client.CommandAsync("MAIL FROM:a@b.c")).Line);
    }

    [Fact]
    public async Task HELO_and_EHLO_argument_checks()
    {
        await using var server = await PlainServer();
        await using var client = await server.ConnectAsync();
        Assert.Equal("501 Error: syntax: EHLO hostname", (await client.CommandAsync("EHLO a b")).Line);
        Assert.Equal("501 Error: Syntax: HELO hostname", (await client.CommandAsync("HELO")).Line);
        Assert.Equal("501 Error: Bad hostname syntax", (await client.CommandAsync("EHLO " + new string('a', 301))).Line);
        Assert.Equal("501 Error: Bad hostname syntax", (await client.CommandAsync("HELO a\u0001b")).Line);
        Assert.Equal(250, (await client.CommandAsync("EHLO " + new string('a', 300))).Code);
        Assert.Equal(250, (await client.CommandAsync("HELO [192.0.2.1]")).Code);
    }

    [Fact]
    public async Task A_tab_after_the_verb_makes_an_unknown_command()
    {
        await using var server = await PlainServer();
        await using var client = await server.ConnectAsync();
        Assert.Equal(500, (await client.CommandAsync("EHLO\tx")).Code);
        Assert.Equal(500, (await client.CommandAsync(" NOOP")).Code);
    }

    [Fact]
    public async Task HELO_records_the_identity_lower_cased()
    {
        SmtpSession? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = (a, s, ct) =>
            {
                seen = s;
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("HELO Client.Example.COM");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        Assert.Equal("client.example.com", seen!.HostNameAppearsAs);
        Assert.Equal("HELO", seen.OpeningCommand);
        Assert.Equal("SMTP", seen.TransmissionType);
        await client.CommandAsync("EHLO x");
        Assert.Equal("ESMTP", seen.TransmissionType);
    }
}
