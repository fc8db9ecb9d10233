namespace Smtpd.Tests.Protocol;

/// <summary>The EHLO/LHLO reply: keywords and order per option (§1.2), HELO reply format, enhanced codes.</summary>
public class CapabilityTests
{
    private static async Task<IReadOnlyList<string>> Ehlo(Action<SmtpServerOptions> configure, string command = "EHLO client.example.com")
    {
        await using var server = await TestServer.StartAsync(configure);
        await using var client = await server.ConnectAsync();
        Reply reply = await client.CommandAsync(command);
        Assert.Equal(250, reply.Code);
        return reply.Lines.Skip(1).Select(l => l[4..]).ToArray();
    }

    [Fact]
    public async Task Default_extensions()
    {
        Assert.Equal(["PIPELINING", "8BITMIME", "SMTPUTF8", "AUTH LOGIN PLAIN", "STARTTLS"], await Ehlo(o => { }));
    }

    [Fact]
    public async Task Opt_in_extensions_in_order()
    {
        Assert.Equal(
            ["PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "SIZE 1024"],
            await Ehlo(o =>
            {
                o.HideEnhancedStatusCodes = false;
                o.HideDsn = false;
                o.Size = 1024;
                o.DisabledCommands = ["AUTH", "STARTTLS"];
            }));
    }

    [Theory]
    [InlineData(nameof(SmtpServerOptions.HidePipelining), "PIPELINING")]
    [InlineData(nameof(SmtpServerOptions.Hide8BitMime), "8BITMIME")]
    [InlineData(nameof(SmtpServerOptions.HideSmtpUtf8), "SMTPUTF8")]
    public async Task Each_hide_option_removes_its_keyword(string option, string keyword)
    {
        IReadOnlyList<string> lines = await Ehlo(o => typeof(SmtpServerOptions).GetProperty(option)!.SetValue(o, true));
        Assert.DoesNotContain(keyword, lines);
        Assert.Contains(lines, l => l.StartsWith("AUTH", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hidden_keywords_keep_working()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HidePipelining = o.Hide8BitMime = o.HideSmtpUtf8 = true;
            o.DisabledCommands = ["AUTH"];
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.SendAsync("MAIL FROM:<a@b.c> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<r@b.c>\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task All_hidden_with_bare_size()
    {
        Assert.Equal(["AUTH LOGIN PLAIN", "SIZE"], await Ehlo(o =>
        {
            o.HidePipelining = o.Hide8BitMime = o.HideSmtpUtf8 = true;
            o.Size = 100;
            o.HideSize = true;
            o.HideStartTls = true;
        }));
    }

    [Fact]
    public async Task Auth_methods_are_advertised_in_the_configured_order_upper_cased()
    {
        IReadOnlyList<string> lines = await Ehlo(o => o.AuthMethods = ["plain", " login "]);
        Assert.Contains("AUTH PLAIN LOGIN", lines);
    }

    [Fact]
    public async Task Disabled_AUTH_is_not_advertised()
    {
        Assert.DoesNotContain(await Ehlo(o => o.DisabledCommands = ["auth"]), l => l.StartsWith("AUTH", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HeloResponse_replaces_placeholders_in_turn()
    {
        await using var server = await TestServer.StartAsync(o => o.HeloResponse = "Hi %s from %s and %s");
        await using var client = await server.ConnectAsync();
        Assert.Equal("250 Hi mx.test from [127.0.0.1] and ", (await client.CommandAsync("HELO x")).Line);
        Assert.Equal("250-Hi mx.test from [127.0.0.1] and ", (await client.CommandAsync("EHLO x")).Lines[0]);
    }

    [Fact]
    public async Task Greeting_name_banner_and_LMTP()
    {
        await using (var server = await TestServer.StartAsync(o => o.Banner = "Welcome here"))
        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            Assert.Equal("220 mx.test ESMTP Welcome here", (await client.ReadReplyAsync()).Line);
        }

        await using (var server = await TestServer.StartAsync(o => o.Lmtp = true))
        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            Assert.Equal("220 mx.test LMTP", (await client.ReadReplyAsync()).Line);
        }

        await using (var server = await TestServer.StartAsync(o => o.Name = "other.example"))
        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            Assert.Equal("220 other.example ESMTP", (await client.ReadReplyAsync()).Line);
        }
    }

    [Fact]
    public async Task Enhanced_codes_on_every_reply_but_EHLO_354_and_greeting()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideEnhancedStatusCodes = false;
        });
        await using var client = await server.ConnectAsync();
        string[] expected =
        [
            "250 2.0.0 OK", "503 5.5.1 Error: send HELO/EHLO first", "500 5.5.2 Error: command not recognized", "214 2.0.0 See https://tools.ietf.org/html/rfc5321 for details",
            "252 2.1.5 Try to send something. No promises though", "501 5.5.4 Error: Syntax: VRFY address",
        ];
        string[] commands = ["NOOP", "MAIL FROM:<a@b.c>", "FOO", "HELP", "VRFY x", "VRFY"];
        for (int i = 0; i < commands.Length; i++)
        {
            Assert.Equal(expected[i], (await client.CommandAsync(commands[i])).Line);
        }

        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains(ehlo.Lines, l => l[4..] == "ENHANCEDSTATUSCODES");
        Assert.Equal("250-mx.test Nice to meet you, [127.0.0.1]", ehlo.Lines[0]);
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", (await client.CommandAsync("DATA")).Line);
        await client.SendAsync("Subject: test\r\n\r\nHello\r\n.\r\n");
        Assert.Equal("250 2.6.0 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal("221 2.0.0 Bye", (await client.CommandAsync("QUIT")).Line);
    }

    [Fact]
    public async Task No_enhanced_codes_by_default()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.DoesNotContain((await client.CommandAsync("EHLO x")).Lines, l => l[4..] == "ENHANCEDSTATUSCODES");
        Assert.Equal("250 Accepted", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
    }

    [Fact]
    public async Task Wizard_commands_behave_as_the_reference()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        Assert.Equal("500 Mere mortals must not mutter that mantra", (await client.CommandAsync("SHELL")).Line);
        Assert.Equal("500 You are no wizard!", (await client.CommandAsync("WIZ")).Line);
        Assert.Equal("200 Please pass, oh mighty wizard", (await client.CommandAsync("WIZ x")).Line);
        Assert.Equal("500 Error: Invoking shell is not allowed. This incident will be reported.", (await client.CommandAsync("SHELL")).Line);
        Assert.Equal("500 Can not kill Mom", (await client.CommandAsync("KILL")).Line);
    }
}
