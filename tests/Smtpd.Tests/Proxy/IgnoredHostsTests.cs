using System.Net;

namespace Smtpd.Tests.Proxy;

public class IgnoredHostsTests
{
    /// <summary>A server that records connection events and log lines, ignoring <paramref name="ignoredHosts"/>.</summary>
    private static async Task<(TestServer Server, SessionRecorder Recorder, ListLogger Logger)> StartAsync(bool useProxy, params string[] ignoredHosts)
    {
        var recorder = new SessionRecorder();
        var logger = new ListLogger();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.Logger = logger;
            o.UseProxy = useProxy;
            o.IgnoredHosts = ignoredHosts;
        });
        return (server, recorder, logger);
    }

    private static async Task SendMessageAsync(RawClient client)
    {
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: x\r\n\r\nbody\r\n.")).Code);
        Assert.Equal(500, (await client.CommandAsync("FOO")).Code);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
    }

    [Fact]
    public async Task Ignored_peer_is_served_but_not_logged_and_raises_no_connection_handlers()
    {
        (TestServer server, SessionRecorder recorder, ListLogger logger) = await StartAsync(false, "127.0.0.2", "192.0.2.0/24");
        await using var _ = server;
        int linesBefore = logger.Entries.Count;
        await using (var ignored = await RawClient.ConnectFromAsync(IPAddress.Parse("127.0.0.2"), server.EndPoint))
        {
            Assert.Equal(220, (await ignored.ReadReplyAsync()).Code);
            await SendMessageAsync(ignored);
        }

        await ProxyTest.WaitUntilAsync(() => server.Server.ConnectionCount == 0);
        Assert.Single(recorder.Datas);
        Assert.Empty(recorder.Connects);
        Assert.Empty(recorder.Closes);
        Assert.Equal(linesBefore, logger.Entries.Count);

        // The same conversation from another peer is logged and raises both handlers.
        await using (var other = await server.ConnectAsync())
        {
            await SendMessageAsync(other);
        }

        await recorder.FirstClose.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Single(recorder.Connects);
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("Connection from [127.0.0.1]", StringComparison.Ordinal));
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("Message from <a@b.c>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Client_announced_by_a_PROXY_header_is_what_is_checked()
    {
        (TestServer server, SessionRecorder recorder, ListLogger logger) = await StartAsync(true, "192.0.2.0/25");
        await using var _ = server;
        int linesBefore = logger.Entries.Count;
        await using (var ignored = await server.ConnectAsync(readGreeting: false))
        {
            await ignored.SendAsync("PROXY TCP4 192.0.2.99 192.0.2.2 1000 25\r\n");
            Assert.Equal(220, (await ignored.ReadReplyAsync()).Code);
            await SendMessageAsync(ignored);
        }

        await ProxyTest.WaitUntilAsync(() => server.Server.ConnectionCount == 0);
        Assert.Empty(recorder.Connects);
        Assert.Equal(linesBefore, logger.Entries.Count);

        await using (var logged = await server.ConnectAsync(readGreeting: false))
        {
            await logged.SendAsync("PROXY TCP4 192.0.2.200 192.0.2.2 1000 25\r\n");
            Assert.Equal(220, (await logged.ReadReplyAsync()).Code);
        }

        await recorder.FirstClose.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(IPAddress.Parse("192.0.2.200"), Assert.Single(recorder.Connects).RemoteAddress);
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("PROXY v1 from 192.0.2.200:1000 through 127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Health_check_with_a_LOCAL_header_from_an_ignored_balancer_is_silent_while_its_clients_are_not()
    {
        (TestServer server, SessionRecorder recorder, ListLogger logger) = await StartAsync(true, "127.0.0.1");
        await using var _ = server;
        int linesBefore = logger.Entries.Count;
        await using (var check = await server.ConnectAsync(readGreeting: false))
        {
            await check.SendBytesAsync(ProxyV2Builder.Local().Build());
            Assert.Equal(220, (await check.ReadReplyAsync()).Code);
            Assert.Equal(221, (await check.CommandAsync("QUIT")).Code);
        }

        await ProxyTest.WaitUntilAsync(() => server.Server.ConnectionCount == 0);
        Assert.Empty(recorder.Connects);
        Assert.Equal(linesBefore, logger.Entries.Count);

        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            await client.SendBytesAsync(ProxyV2Builder.Tcp4("203.0.113.50", 4444, "192.0.2.2", 25).Build());
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        }

        await recorder.FirstClose.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(IPAddress.Parse("203.0.113.50"), Assert.Single(recorder.Connects).RemoteAddress);
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("PROXY v2 from 203.0.113.50:4444", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invalid_headers_are_logged_with_their_reason()
    {
        var logger = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Logger = logger;
            o.UseProxy = true;
        });
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 198.51.100.22 203.0.113.7 99999 80\r\n");
        Assert.Equal(ProxyTest.BadHeader, await client.ReadLineAsync(TimeSpan.FromSeconds(5)));
        await ProxyTest.WaitUntilAsync(() => logger.Entries.Select(e => e.Message).Any(l => l.Contains("Invalid PROXY header from 127.0.0.1: a port is not a number from 0 to 65535", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_peer_that_closes_inside_its_header_is_logged_as_such()
    {
        var logger = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Logger = logger;
            o.UseProxy = true;
        });
        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            // The first bytes of a version 2 header, then the peer goes away.
            byte[] header = ProxyV2Builder.Tcp4("203.0.113.50", 4444, "192.0.2.2", 25).Build();
            await client.SendBytesAsync(header[..20]);
            client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            Assert.True(await client.IsClosedAsync());
        }

        await ProxyTest.WaitUntilAsync(() => logger.Entries.Select(e => e.Message).Any(l => l.Contains("closed the connection inside the PROXY header", StringComparison.Ordinal)));
    }
}
