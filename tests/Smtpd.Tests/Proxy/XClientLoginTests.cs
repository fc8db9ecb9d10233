using System.Net;

namespace Smtpd.Tests.Proxy;

/// <summary>XCLIENT LOGIN goes to the AUTH handler (method XCLIENT, no secret); AUTH stays required for everyone else.</summary>
public class XClientLoginTests
{
    private const string PlainToken = "AHVzZXIAcGFzcw=="; // \0user\0pass

    private static async Task<(TestServer Server, SessionRecorder Recorder, List<(string Method, string Username, IPAddress Address)> AuthCalls)> StartAsync(
        Func<SmtpAuthRequest, SmtpAuthResult>? decide, Action<SmtpServerOptions>? configure = null)
    {
        var recorder = new SessionRecorder();
        var calls = new List<(string, string, IPAddress)>();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.DisabledCommands = [];
            o.AllowInsecureAuth = true;
            o.UseXClient = true;
            o.UseXForward = true;
            if (decide is not null)
            {
                o.OnAuth = (request, session, _) =>
                {
                    lock (calls)
                    {
                        calls.Add((request.Method, request.Username, session.RemoteAddress));
                    }

                    return ValueTask.FromResult(decide(request));
                };
            }

            configure?.Invoke(o);
        });
        return (server, recorder, calls);
    }

    private static SmtpAuthResult Plain(SmtpAuthRequest request) =>
        request.Method == "PLAIN" && request.Username == "user" && request.ValidatePassword("pass") ? SmtpAuthResult.Success("user") : SmtpAuthResult.Failure();

    [Fact]
    public async Task Accepted_login_authenticates_the_announced_client()
    {
        (TestServer server, SessionRecorder recorder, var calls) = await StartAsync(r => r.Method == SmtpAuthMethods.XClient ? SmtpAuthResult.Success("account:" + r.Username) : SmtpAuthResult.Failure());
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1 LOGIN=alice")).Line);
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal("account:alice", session.User);
        Assert.Equal("ESMTPA", session.TransmissionType);
        Assert.Equal("alice", session.XClient["LOGIN"]);
        Assert.Equal(("XCLIENT", "alice", IPAddress.Parse("192.0.2.1")), Assert.Single(calls));
    }

    [Fact]
    public async Task Refused_login_gets_550_and_the_connection_closes()
    {
        (TestServer server, _, _) = await StartAsync(_ => SmtpAuthResult.Failure());
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("550 Authentication credentials invalid", (await client.CommandAsync("XCLIENT LOGIN=fail")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Refused_login_carries_5_7_8_with_enhanced_codes()
    {
        (TestServer server, _, _) = await StartAsync(_ => SmtpAuthResult.Failure(), o => o.HideEnhancedStatusCodes = false);
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("550 5.7.8 Authentication credentials invalid", (await client.CommandAsync("XCLIENT LOGIN=fail")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Handler_text_is_used_with_550()
    {
        (TestServer server, _, _) = await StartAsync(_ => throw new SmtpException("No such user"));
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("550 No such user", (await client.CommandAsync("XCLIENT LOGIN=ghost")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Temporary_failure_keeps_its_4xx_code()
    {
        (TestServer server, _, _) = await StartAsync(_ => SmtpAuthResult.Failure(454, "Try again later"));
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("454 Try again later", (await client.CommandAsync("XCLIENT LOGIN=busy")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Without_an_AUTH_handler_the_client_stays_unauthenticated()
    {
        (TestServer server, SessionRecorder recorder, _) = await StartAsync(null);
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal("220 mx.test ESMTP", (await client.CommandAsync("XCLIENT ADDR=192.0.2.1 LOGIN=alice")).Line);
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("530 Error: authentication Required", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Empty(recorder.MailFroms);
    }

    [Fact]
    public async Task Empty_login_logs_the_client_out_and_unavailable_keeps_it()
    {
        (TestServer server, SessionRecorder recorder, _) = await StartAsync(Plain);
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + PlainToken)).Code);
        Assert.Equal(220, (await client.CommandAsync("XCLIENT LOGIN=[UNAVAILABLE]")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(220, (await client.CommandAsync("XCLIENT LOGIN=")).Code);
        Assert.Equal("530 Error: authentication Required", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("user", Assert.Single(recorder.MailFroms).User);
    }

    [Fact]
    public async Task Address_change_logs_the_client_out()
    {
        (TestServer server, _, _) = await StartAsync(Plain);
        await using var serverScope = server;
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + PlainToken)).Code);
        Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=192.0.2.1")).Code);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains(ehlo.Lines, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.Equal("530 Error: authentication Required", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
    }

    [Fact]
    public async Task Password_authenticator_accepts_listed_names_only()
    {
        var users = new SmtpPasswordAuthenticator([new("alice", "secret")]);
        (TestServer server, SessionRecorder recorder, _) = await StartAsync(null, o => o.OnAuth = users.AuthenticateAsync);
        await using var serverScope = server;
        await using (var listed = await server.ConnectAsync())
        {
            Assert.Equal(220, (await listed.CommandAsync("XCLIENT LOGIN=alice")).Code);
            Assert.Equal(250, (await listed.CommandAsync("EHLO x")).Code);
            Assert.Equal(250, (await listed.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        }

        await using var unlisted = await server.ConnectAsync();
        Assert.Equal("550 Authentication credentials invalid", (await unlisted.CommandAsync("XCLIENT LOGIN=mallory")).Line);
        Assert.Equal("alice", Assert.Single(recorder.MailFroms).User);
    }
}
