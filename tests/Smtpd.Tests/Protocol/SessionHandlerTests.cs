using System.Collections.Concurrent;

namespace Smtpd.Tests.Protocol;

/// <summary>Typed per-connection state: a <see cref="SmtpSessionHandler"/> per connection (go-smtp's Backend.NewSession).</summary>
public class SessionHandlerTests
{
    /// <summary>Counts the messages of its own connection; everything it does not override is the server's.</summary>
    private sealed class CountingSession(ConcurrentQueue<string> log) : SmtpSessionHandler, IAsyncDisposable
    {
        private int _messages;

        protected internal override async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
        {
            await message.CopyToAsync(Stream.Null, cancellationToken);
            return SmtpResult.Accept($"message {++_messages} of this connection");
        }

        protected internal override ValueTask OnCloseAsync(SmtpSession session, CancellationToken cancellationToken)
        {
            log.Enqueue($"close after {_messages}");
            return base.OnCloseAsync(session, cancellationToken);
        }

        public ValueTask DisposeAsync()
        {
            log.Enqueue("disposed");
            return default;
        }
    }

    private static async Task<string> SendAsync(RawClient client, string sender)
    {
        Assert.Equal(250, (await client.CommandAsync($"MAIL FROM:<{sender}>")).Code);
        Reply rcpt = await client.CommandAsync("RCPT TO:<r@example.org>");
        if (rcpt.Code != 250)
        {
            await client.CommandAsync("RSET");
            return rcpt.Line;
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\n");
        return (await client.ReadReplyAsync()).Line;
    }

    [Fact]
    public async Task Each_connection_has_its_own_handler_and_the_server_handlers_still_run()
    {
        var log = new ConcurrentQueue<string>();
        int serverCloses = 0;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.SessionHandlerFactory = session => new CountingSession(log);
            o.OnRcptTo = (a, s, ct) => new(SmtpResult.Reject(550, "Handled by the server's delegate"));
            o.OnClose = (s, ct) =>
            {
                Interlocked.Increment(ref serverCloses);
                return default;
            };
        });
        await using (var first = await server.ConnectAsync())
        {
            await first.CommandAsync("EHLO a.example");
            Assert.Equal("550 Handled by the server's delegate", await SendAsync(first, "a@example.com"));
        }

        await Connections.ConnectionManagementTests.WaitUntil(() => log.Count >= 2);
        Assert.Equal(["close after 0", "disposed"], log);
        Assert.Equal(1, Volatile.Read(ref serverCloses));
    }

    [Fact]
    public async Task Changing_the_options_after_construction_has_no_effect()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnRcptTo = (a, s, ct) => new(SmtpResult.Reject(550, "Refused by the options the server was built with"));
        });
        server.Server.Options.OnRcptTo = null;
        server.Server.Options.Banner = "changed";
        server.Server.Options.DisabledCommands.Clear();
        await using var client = await server.ConnectAsync(readGreeting: false);
        Assert.Equal("220 mx.test ESMTP", (await client.ReadReplyAsync()).Line);
        Assert.DoesNotContain((await client.CommandAsync("EHLO a.example")).Lines, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.Equal("550 Refused by the options the server was built with", await SendAsync(client, "a@example.com"));
    }

    [Fact]
    public async Task State_lives_as_long_as_its_connection()
    {
        var log = new ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.SessionHandlerFactory = session => new CountingSession(log);
        });
        await using (var first = await server.ConnectAsync())
        {
            await first.CommandAsync("EHLO a.example");
            Assert.Equal("250 message 1 of this connection", await SendAsync(first, "a@example.com"));
            Assert.Equal("250 message 2 of this connection", await SendAsync(first, "a@example.com"));
            await using var second = await server.ConnectAsync();
            await second.CommandAsync("EHLO b.example");
            Assert.Equal("250 message 1 of this connection", await SendAsync(second, "b@example.com"));
            Assert.Equal(221, (await first.CommandAsync("QUIT")).Code);
        }

        await Connections.ConnectionManagementTests.WaitUntil(() => log.Contains("close after 2"));
    }

    /// <summary>A subclass of the server can create the handlers itself.</summary>
    private sealed class PerConnectionServer(SmtpServerOptions options) : SmtpServer(options)
    {
        public int Created;

        protected override SmtpSessionHandler CreateSessionHandler(SmtpSession session)
        {
            Interlocked.Increment(ref Created);
            return new CountingSession(new ConcurrentQueue<string>());
        }
    }

    [Fact]
    public async Task A_server_subclass_creates_the_handlers_and_a_failing_factory_tempfails_the_client()
    {
        var subclass = new PerConnectionServer(TestServer.Defaults(o => o.DisabledCommands = ["AUTH"]));
        await using (var server = await TestServer.StartAsync(subclass))
        {
            await using var client = await server.ConnectAsync();
            await client.CommandAsync("EHLO a.example");
            Assert.Equal("250 message 1 of this connection", await SendAsync(client, "a@example.com"));
            Assert.Equal(1, subclass.Created);
        }

        var logger = new ListLogger();
        await using var failing = await TestServer.StartAsync(o =>
        {
            o.Logger = logger;
            o.SessionHandlerFactory = _ => throw new InvalidOperationException("no database");
        });
        await using var refused = await failing.ConnectAsync(readGreeting: false);
        Assert.Equal("451 Error: internal server error", (await refused.ReadReplyAsync()).Line);
        Assert.True(await refused.IsClosedAsync());
        Assert.Contains(logger.Entries, e => e.Exception is InvalidOperationException { Message: "no database" });
    }

    [Fact]
    public async Task A_handler_serves_one_server_only()
    {
        var shared = new CountingSession(new ConcurrentQueue<string>());
        await using var one = await TestServer.StartAsync(o => o.SessionHandlerFactory = _ => shared);
        await using var other = await TestServer.StartAsync(o => o.SessionHandlerFactory = _ => shared);
        await using (var client = await one.ConnectAsync())
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }

        Assert.Same(one.Server, shared.Server);
        await using var refused = await other.ConnectAsync(readGreeting: false);
        Assert.Equal("451 Error: internal server error", (await refused.ReadReplyAsync()).Line);
    }
}
