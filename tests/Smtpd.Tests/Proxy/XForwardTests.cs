using System.Net;

namespace Smtpd.Tests.Proxy;

public class XForwardTests
{
    [Fact]
    public async Task Every_attribute_is_accepted_decoded_and_applied()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync(o => o.HideEnhancedStatusCodes = false);
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO relay.example.com")).Code);
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("XFORWARD ADDR=192.0.2.1 NAME=client.example.com PORT=1234 PROTO=ESMTP HELO=Helo.Example.com IDENT=x+20y SOURCE=REMOTE")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), session.RemoteAddress);
        Assert.Equal(1234, session.RemotePort);
        Assert.Equal("client.example.com", session.ClientHostname);
        Assert.Equal("helo.example.com", session.HostNameAppearsAs);
        Assert.Equal("192.0.2.1", session.XForward["ADDR"]);
        Assert.Equal("Helo.Example.com", session.XForward["HELO"]);
        Assert.Equal("x y", session.XForward["IDENT"]);
        Assert.Equal("REMOTE", session.XForward["SOURCE"]);
        Assert.Equal("ESMTP", session.XForward["PROTO"]);
        Assert.Equal("1234", session.XForward["PORT"]);
        Assert.Equal("127.0.0.1", session.XForward["ADDR:DEFAULT"]);
        Assert.Equal(IPAddress.Loopback, session.LocalAddress);
    }

    [Fact]
    public async Task Unavailable_values_change_nothing_but_are_recorded()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("250 OK", (await client.CommandAsync("XFORWARD ADDR=[UNAVAILABLE] NAME=[unavailable]")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Equal("[127.0.0.1]", session.ClientHostname);
        Assert.Null(session.XForward["ADDR"]);
        Assert.Null(session.XForward["NAME"]);
    }

    [Theory]
    [InlineData("XFORWARD", "Error: Bad command parameter syntax")]
    [InlineData("XFORWARD FOO=bar", "Error: Bad command parameter syntax")]
    [InlineData("XFORWARD LOGIN=user", "Error: Bad command parameter syntax")]
    [InlineData("XFORWARD ADDR=not-an-ip", "Error: Bad command parameter syntax. Invalid address")]
    [InlineData("XFORWARD NAME=bad!host.example.com", "Error: Bad command parameter syntax. Invalid hostname")]
    [InlineData("XFORWARD NAME=[TEMPUNAVAIL]", "Error: Bad command parameter syntax. Invalid hostname")]
    public async Task Bad_attributes_get_501(string command, string text)
    {
        TestServer server = (await XCommandServer.StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("501 " + text, (await client.CommandAsync(command)).Line);
    }

    [Fact]
    public async Task Refused_during_a_transaction()
    {
        TestServer server = (await XCommandServer.StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal("503 Error: Mail transaction in progress", (await client.CommandAsync("XFORWARD ADDR=192.0.2.1")).Line);
    }

    [Fact]
    public async Task Forwarded_HELO_name_stands_in_for_a_greeting()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("XFORWARD HELO=Origin.Example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal("origin.example", session.HostNameAppearsAs);
        Assert.Equal("SMTP", session.TransmissionType);
    }

    [Fact]
    public async Task Several_commands_accumulate_and_the_original_address_is_kept()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("XFORWARD ADDR=192.0.2.1 NAME=one.example.com")).Code);
        Assert.Equal(250, (await client.CommandAsync("XFORWARD ADDR=IPV6:2001:db8::9 PROTO=SMTP")).Code);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains("250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE", ehlo.Lines);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Parse("2001:db8::9"), session.RemoteAddress);
        Assert.Equal("[2001:db8::9]", session.ClientHostname);
        Assert.Equal("one.example.com", session.XForward["NAME"]);
        Assert.Equal("SMTP", session.XForward["PROTO"]);
        Assert.Equal("127.0.0.1", session.XForward["ADDR:DEFAULT"]);
    }

    [Fact]
    public async Task Forwarded_client_is_exposed_and_an_XCLIENT_address_then_wins()
    {
        (TestServer server, SessionRecorder recorder) = await XCommandServer.StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("XFORWARD ADDR=192.0.2.1 NAME=client.example.com PORT=1234 HELO=helo.example.com")).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=198.51.100.7 PORT=4321")).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal("550 Error: Not allowed", (await client.CommandAsync("XFORWARD ADDR=192.0.2.9")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);

        SessionSnapshot[] mails = [.. recorder.MailFroms];
        Assert.Equal(IPAddress.Parse("192.0.2.1"), mails[0].RemoteAddress);
        Assert.Equal(1234, mails[0].RemotePort);
        Assert.Equal("client.example.com", mails[0].ClientHostname);
        Assert.Equal("192.0.2.1", mails[0].XForward["ADDR"]);
        Assert.Equal("helo.example.com", mails[0].XForward["HELO"]);
        Assert.Equal(IPAddress.Parse("198.51.100.7"), mails[1].RemoteAddress);
        Assert.Equal(4321, mails[1].RemotePort);
        Assert.Equal(IPAddress.Parse("198.51.100.7"), mails[2].RemoteAddress);
        Assert.Equal("192.0.2.1", mails[1].XClient["ADDR:DEFAULT"]);
    }

    [Fact]
    public async Task Attribute_changes_are_logged_with_the_peer()
    {
        var logger = new ListLogger();
        TestServer server = (await XCommandServer.StartAsync(o => o.Logger = logger)).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("XFORWARD ADDR=192.0.2.1 IDENT=Q1")).Code);
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("XFORWARD from 127.0.0.1: ADDR=192.0.2.1 IDENT=Q1", StringComparison.Ordinal));
    }
}
