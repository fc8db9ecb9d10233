using System.Globalization;
using System.Net;

namespace Smtpd.Tests.Proxy;

public class XClientTests
{
    [Fact]
    public async Task Not_enabled_answers_550_to_both_commands()
    {
        var recorder = new SessionRecorder();
        await using var server = await TestServer.StartAsync(recorder.Attach);
        await using var client = await server.ConnectAsync();
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Line);
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XFORWARD ADDR=192.0.2.1")).Line);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("XCLIENT", StringComparison.Ordinal) || l.Contains("XFORWARD", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Untrusted_peer_is_refused_sees_no_advertisement_and_keeps_its_session()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync(o =>
        {
            o.UseXClient = new[] { "10.0.0.0/8" };
            o.UseXForward = new[] { "10.0.0.0/8", "2001:db8::/32" };
        });
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("XCLIENT", StringComparison.Ordinal) || l.Contains("XFORWARD", StringComparison.Ordinal));
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1 NAME=spoofed.example.com")).Line);
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XFORWARD ADDR=192.0.2.1 NAME=spoofed.example.com")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Equal("[127.0.0.1]", session.ClientHostname);
        Assert.Empty(session.XClient);
        Assert.Empty(session.XForward);
    }

    [Fact]
    public async Task Trusted_range_sees_only_the_commands_it_is_trusted_for()
    {
        TestServer server = (await XCommandServer.StartAsync(o =>
        {
            o.UseXClient = new[] { "127.0.0.0/8" };
            o.UseXForward = new[] { "10.0.0.0/8" };
        })).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains("250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN", ehlo.Lines);
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("XFORWARD", StringComparison.Ordinal));
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XFORWARD ADDR=192.0.2.1")).Line);
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Line);
    }

    [Theory]
    [InlineData("192.0.2.5", true)]
    [InlineData("203.0.113.5", false)]
    public async Task Trust_is_decided_on_the_client_the_PROXY_header_announced(string announced, bool trusted)
    {
        TestServer server = (await XCommandServer.StartAsync(o =>
        {
            o.UseProxy = true;
            o.UseXClient = new[] { "192.0.2.0/24" };
        })).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync($"PROXY TCP4 {announced} 192.0.2.250 1000 25\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Equal(trusted, ehlo.Lines.Any(l => l.Contains("XCLIENT", StringComparison.Ordinal)));
        Assert.Equal(trusted ? 220 : 550, (await client.CommandAsync("XCLIENT NAME=client.example.com")).Code);
    }

    [Fact]
    public async Task Opt_in_extensions_are_listed_in_the_reference_order()
    {
        TestServer server = (await XCommandServer.StartAsync(o =>
        {
            o.HideEnhancedStatusCodes = false;
            o.HideDsn = false;
            o.Size = 1024;
            o.DisabledCommands = ["AUTH", "STARTTLS"];
        })).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.Equal(
            ["PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "SIZE 1024", "XCLIENT NAME ADDR PORT PROTO HELO LOGIN", "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE"],
            ehlo.Lines.Skip(1).Select(l => l[4..]));
    }

    [Fact]
    public async Task Address_change_re_greets_and_the_client_must_EHLO_again()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO proxy.example.com")).Code);
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1 NAME=client.example.com")).Line);
        Assert.Equal("503 Error: send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.Equal("250-mx.test Nice to meet you, client.example.com", ehlo.Lines[0]);
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("XCLIENT", StringComparison.Ordinal) || l.Contains("XFORWARD", StringComparison.Ordinal));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), session.RemoteAddress);
        Assert.Equal("client.example.com", session.ClientHostname);
        Assert.Equal("ESMTP", session.TransmissionType);
    }

    [Fact]
    public async Task After_an_address_change_both_commands_are_refused()
    {
        TestServer server = (await XCommandServer.StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Code);
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XCLIENT ADDR=192.0.2.2")).Line);
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XFORWARD ADDR=192.0.2.2")).Line);
    }

    [Fact]
    public async Task Enhanced_codes_mark_the_refusals_but_not_the_greeting()
    {
        TestServer server = (await XCommandServer.StartAsync(o => o.HideEnhancedStatusCodes = false)).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Line);
        Assert.Equal("550 5.7.0 Error: Not allowed", (await client.CommandAsync("XCLIENT ADDR=192.0.2.2")).Line);
        Assert.Equal("550 5.7.0 Error: Not allowed", (await client.CommandAsync("XFORWARD ADDR=192.0.2.3")).Line);
    }

    [Fact]
    public async Task Greeting_after_XCLIENT_carries_the_banner()
    {
        TestServer server = (await XCommandServer.StartAsync(o => o.Banner = "welcome")).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("220 mx.test ESMTP welcome", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Line);
    }

    [Fact]
    public async Task Refused_during_a_transaction()
    {
        TestServer server = (await XCommandServer.StartAsync(o => o.HideEnhancedStatusCodes = false)).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal("503 5.5.1 Error: Mail transaction in progress", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Line);
    }

    [Theory]
    [InlineData("XCLIENT", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT    ", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT FOO=bar", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT IDENT=x", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT ADDR", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT =192.0.2.1", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT NAME=a=b", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT NAME=a+0Db.example", "Error: Bad command parameter syntax")]
    [InlineData("XCLIENT ADDR=bad", "Error: Bad command parameter syntax. Invalid address")]
    [InlineData("XCLIENT ADDR=192.0.2.256", "Error: Bad command parameter syntax. Invalid address")]
    [InlineData("XCLIENT ADDR=IPV6:192.0.2.1:25", "Error: Bad command parameter syntax. Invalid address")]
    [InlineData("XCLIENT NAME=bad!host", "Error: Bad command parameter syntax. Invalid hostname")]
    [InlineData("XCLIENT NAME=-bad.example", "Error: Bad command parameter syntax. Invalid hostname")]
    public async Task Bad_attributes_get_501(string command, string text)
    {
        TestServer server = (await XCommandServer.StartAsync(o => o.HideEnhancedStatusCodes = false)).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("501 5.5.4 " + text, (await client.CommandAsync(command)).Line);
    }

    [Fact]
    public async Task Overlong_host_name_gets_501()
    {
        TestServer server = (await XCommandServer.StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("501 Error: Bad command parameter syntax. Invalid hostname", (await client.CommandAsync("XCLIENT NAME=" + new string('a', 600) + ".example.com")).Line);
    }

    [Fact]
    public async Task Every_attribute_is_checked_before_any_is_applied()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(501, (await client.CommandAsync("XCLIENT NAME=good.example.com PORT=99 ADDR=bad")).Code);
        Assert.Equal("250-mx.test Nice to meet you, [127.0.0.1]", (await client.CommandAsync("EHLO x")).Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.NotEqual(99, session.RemotePort);
        Assert.Empty(session.XClient);
    }

    [Fact]
    public async Task Attributes_are_decoded_recorded_and_applied()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        int clientPort = ((IPEndPoint)client.Socket.LocalEndPoint!).Port;
        Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=IPV6:2001:DB8:0:0:0:0:0:1 NAME=[TEMPUNAVAIL] PORT=x PROTO=ESMTP HELO=Helo+2EExample LOGIN=[UNAVAILABLE] ADDR=192.0.2.1")).Code);
        Assert.Equal("250-mx.test Nice to meet you, [2001:db8::1]", (await client.CommandAsync("EHLO h.example")).Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), session.RemoteAddress);
        Assert.Equal(0, session.RemotePort);
        Assert.Equal("[2001:db8::1]", session.ClientHostname);
        Assert.Equal("h.example", session.HostNameAppearsAs);
        Assert.Equal("2001:db8::1", session.XClient["ADDR"]);
        Assert.Null(session.XClient["NAME"]);
        Assert.Equal("x", session.XClient["PORT"]);
        Assert.Equal("ESMTP", session.XClient["proto"]);
        Assert.Equal("Helo.Example", session.XClient["HELO"]);
        Assert.Null(session.XClient["LOGIN"]);
        Assert.Equal("127.0.0.1", session.XClient["ADDR:DEFAULT"]);
        Assert.Equal("[127.0.0.1]", session.XClient["NAME:DEFAULT"]);
        Assert.Equal(clientPort.ToString(CultureInfo.InvariantCulture), session.XClient["PORT:DEFAULT"]);
    }

    [Fact]
    public async Task Name_and_port_alone_keep_the_greeting_and_XCLIENT_available()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT NAME=First.Example.COM. PORT=2525")).Line);
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT NAME=second.example.com")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal("second.example.com", session.ClientHostname);
        Assert.Equal(2525, session.RemotePort);
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Equal("[127.0.0.1]", session.XClient["NAME:DEFAULT"]);
        Assert.False(session.XClient.ContainsKey("ADDR"));
    }

    [Fact]
    public async Task Empty_or_unavailable_name_falls_back_to_the_bracketed_address()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(220, (await client.CommandAsync("XCLIENT NAME=real.example.com")).Code);
        Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=198.51.100.7 NAME=")).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal("[198.51.100.7]", session.ClientHostname);
        Assert.Equal("[127.0.0.1]", session.XClient["NAME:DEFAULT"]);
    }

    [Fact]
    public async Task Works_before_any_greeting_command()
    {
        TestServer server = (await XCommandServer.StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("xclient addr=192.0.2.1")).Line);
    }

    [Fact]
    public async Task Disabled_command_is_unknown_and_not_advertised()
    {
        TestServer server = (await XCommandServer.StartAsync(o => o.DisabledCommands = ["AUTH", "XCLIENT"])).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("XCLIENT", StringComparison.Ordinal));
        Assert.Contains("250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE", ehlo.Lines);
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Line);
    }

    [Fact]
    public async Task Attribute_changes_are_logged_with_the_peer()
    {
        var logger = new ListLogger();
        TestServer server = (await XCommandServer.StartAsync(o => o.Logger = logger)).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=192.0.2.1 NAME=[UNAVAILABLE]")).Code);
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("XCLIENT from 127.0.0.1: ADDR=192.0.2.1 NAME=[UNAVAILABLE]", StringComparison.Ordinal));
    }
}
