using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Smtpd.Tests.Proxy;

public class ProxyProtocolV1Tests
{
    private static async Task<(TestServer Server, SessionRecorder Recorder)> StartAsync(Action<SmtpServerOptions>? configure = null)
    {
        var recorder = new SessionRecorder();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseProxy = true;
            configure?.Invoke(o);
        });
        return (server, recorder);
    }

    [Fact]
    public async Task Tcp4_header_becomes_the_remote_endpoint_and_the_local_endpoint_stays_the_socket()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\n");
        Assert.Equal("220 mx.test ESMTP", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 mx.test Nice to meet you, [198.51.100.22]", (await client.CommandAsync("HELO x")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);

        SessionSnapshot connect = Assert.Single(recorder.Connects);
        Assert.Equal(IPAddress.Parse("198.51.100.22"), connect.RemoteAddress);
        Assert.Equal(35646, connect.RemotePort);
        Assert.Equal("[198.51.100.22]", connect.ClientHostname);
        Assert.Equal(IPAddress.Loopback, connect.LocalAddress);
        Assert.Equal(server.Port, connect.LocalPort);
        SmtpProxyHeader header = connect.ProxyHeader!;
        Assert.Equal(1, header.Version);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 80), header.Destination);
        Assert.Equal(IPAddress.Loopback, header.ProxyAddress);
        Assert.Equal(((IPEndPoint)client.Socket.LocalEndPoint!).Port, header.ProxyPort);
        Assert.Equal(IPAddress.Parse("198.51.100.22"), Assert.Single(recorder.MailFroms).RemoteAddress);
    }

    [Fact]
    public async Task Connect_handler_judges_the_announced_client()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.UseProxy = true;
            o.OnConnect = (session, _) => new(session.RemoteAddress.Equals(IPAddress.Parse("1.2.3.4"))
                ? SmtpResult.Reject(421, "Blacklisted " + session.RemoteAddress)
                : SmtpResult.Accept());
        });
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 1.2.3.4 203.0.113.7 35646 80\r\n");
        Assert.Equal("421 Blacklisted 1.2.3.4", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Theory]
    [InlineData("PROXY TCP6 2001:db8::1 2001:db8::2 4000 25", "2001:db8::1")]
    [InlineData("PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 ::1 4000 25", "2001:db8::1")]
    [InlineData("PROXY TCP6 ::ffff:192.0.2.9 ::1 4000 25", "192.0.2.9")]
    public async Task Tcp6_header_is_canonicalised_and_IPv4_mapped_becomes_IPv4(string line, string expected)
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync(line + "\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        SessionSnapshot connect = Assert.Single(recorder.Connects);
        Assert.Equal(expected, connect.RemoteAddress.ToString());
        Assert.Equal(4000, connect.RemotePort);
        Assert.Equal("[" + expected + "]", connect.ClientHostname);
    }

    [Theory]
    [InlineData("PROXY UNKNOWN")]
    [InlineData("PROXY UNKNOWN ffff::1 ffff::2 1 2")]
    public async Task Unknown_keeps_the_socket_peer(string line)
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync(line + "\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        SessionSnapshot connect = Assert.Single(recorder.Connects);
        Assert.Equal(IPAddress.Loopback, connect.RemoteAddress);
        Assert.Equal(((IPEndPoint)client.Socket.LocalEndPoint!).Port, connect.RemotePort);
        Assert.Null(connect.ProxyHeader!.Source);
    }

    [Fact]
    public async Task A_bare_LF_ends_the_line_as_in_the_reference()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 192.0.2.1 192.0.2.2 1000 25\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), Assert.Single(recorder.Connects).RemoteAddress);
    }

    [Theory]
    [InlineData("EHLO client.example.com\r\n")]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22 203.0.113.7\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22 203.0.113.7 35646\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22 203.0.113.7 35646 80 extra\r\n")]
    [InlineData("PROXY TCP4 not-an-ip 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY TCP4 198.51.100.022 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY TCP4 198.51.100.256 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY TCP4 2001:db8::1 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY TCP6 198.51.100.22 2001:db8::2 35646 80\r\n")]
    [InlineData("PROXY TCP6 fe80::1%eth0 2001:db8::2 35646 80\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22 203.0.113.7 65536 80\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22 203.0.113.7 -1 80\r\n")]
    [InlineData("PROXY TCP4 198.51.100.22 203.0.113.7 http 80\r\n")]
    [InlineData("PROXY TCP4  198.51.100.22 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY TCP5 198.51.100.22 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY UDP4 198.51.100.22 203.0.113.7 35646 80\r\n")]
    [InlineData("proxy TCP4 198.51.100.22 203.0.113.7 35646 80\r\n")]
    [InlineData("PROXY\r\n")]
    [InlineData("PROXY \r\n")]
    [InlineData("\r\nX")]
    public async Task Malformed_header_gets_the_reference_diagnostic_and_no_session(string header)
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync(header);
        Assert.Equal(ProxyTest.BadHeader + "\n", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(recorder.Connects);
        Assert.Empty(recorder.Closes);
    }

    [Fact]
    public async Task Header_without_line_end_is_refused_once_it_exceeds_the_cap()
    {
        TestServer server = (await StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 " + new string('A', 1500));
        Assert.Equal(ProxyTest.BadHeader + "\n", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Overlong_header_is_refused_even_when_it_ends_with_a_line_end()
    {
        TestServer server = (await StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 " + new string('A', 2048) + "\r\n");
        Assert.Equal(ProxyTest.BadHeader + "\n", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Longest_TCP6_header_is_accepted()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        string line = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync(line);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Assert.Single(recorder.Connects).RemoteAddress.ToString());
    }

    [Theory]
    [InlineData(107, true)]
    [InlineData(108, false)]
    public async Task Header_may_be_107_bytes_and_not_more(int length, bool accepted)
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        string line = "PROXY UNKNOWN ";
        line += new string('x', length - line.Length - 2) + "\r\n";
        Assert.Equal(length, line.Length);
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync(line);
        if (accepted)
        {
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
            Assert.Single(recorder.Connects);
        }
        else
        {
            Assert.Equal(ProxyTest.BadHeader + "\n", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public async Task Commands_in_the_same_segment_as_the_header_are_not_lost()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 192.0.2.1 192.0.2.2 1000 25\r\nEHLO client.example.com\r\nMAIL FROM:<a@b.c>\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250-mx.test Nice to meet you, [192.0.2.1]", (await client.ReadReplyAsync()).Lines[0]);
        Assert.Equal("250 Accepted", (await client.ReadReplyAsync()).Line);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), Assert.Single(recorder.MailFroms).RemoteAddress);
    }

    [Fact]
    public async Task Commands_pipelined_with_the_header_before_the_greeting_are_early_talk()
    {
        TestServer server = (await StartAsync(o => o.GreetingDelay = TimeSpan.FromMilliseconds(100))).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 192.0.2.1 192.0.2.2 1000 25\r\nNOOP\r\n");
        Assert.Equal("421 mx.test You talk too soon", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task Header_trickled_byte_by_byte_is_assembled()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        foreach (char c in "PROXY TCP4 192.0.2.7 192.0.2.2 1234 25\r\n")
        {
            await client.SendAsync(c.ToString());
            await Task.Delay(2);
        }

        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(IPAddress.Parse("192.0.2.7"), Assert.Single(recorder.Connects).RemoteAddress);
    }

    [Fact]
    public async Task A_wrong_first_byte_is_refused_at_once_without_waiting_for_a_line_end()
    {
        TestServer server = (await StartAsync()).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("HELO");
        Assert.Equal(ProxyTest.BadHeader, await client.ReadLineAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Client_that_never_sends_the_header_is_dropped_silently_after_the_socket_timeout()
    {
        var logger = new ListLogger();
        (TestServer server, SessionRecorder recorder) = await StartAsync(o =>
        {
            o.SocketTimeout = TimeSpan.FromMilliseconds(300);
            o.Logger = logger;
        });
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        var watch = Stopwatch.StartNew();
        Assert.Equal("", await client.ReadToEndAsync(TimeSpan.FromSeconds(3)));
        Assert.InRange(watch.ElapsedMilliseconds, 200, 3000);
        Assert.Empty(recorder.Connects);
        await ProxyTest.WaitUntilAsync(() => logger.Entries.Select(e => e.Message).Any(l => l.Contains("Dropped 127.0.0.1 before its PROXY header: no complete PROXY header within 300 ms", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Client_that_sends_a_partial_header_slowly_is_dropped_after_the_socket_timeout()
    {
        TestServer server = (await StartAsync(o => o.SocketTimeout = TimeSpan.FromMilliseconds(300))).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        var watch = Stopwatch.StartNew();
        Task<string> closed = client.ReadToEndAsync(TimeSpan.FromSeconds(3));
        try
        {
            foreach (char c in "PROXY TCP4 192.0.2.7 192.0.2.2 1234")
            {
                // Every byte arrives well within the timeout, but the header as a whole does not.
                await client.SendAsync(c.ToString());
                await Task.Delay(50);
            }
        }
        catch (SocketException)
        {
            // The server dropped us mid-way: expected.
        }

        Assert.Equal("", await closed);
        Assert.InRange(watch.ElapsedMilliseconds, 200, 2000);
    }

    [Fact]
    public async Task Session_after_the_header_runs_under_its_own_idle_timeout()
    {
        TestServer server = (await StartAsync(o => o.SocketTimeout = TimeSpan.FromMilliseconds(400))).Server;
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await Task.Delay(250);
        await client.SendAsync("PROXY TCP4 192.0.2.7 192.0.2.2 1234 25\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        await Task.Delay(250);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal("421 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(3))).Line);
    }

    [Fact]
    public async Task Client_closing_before_the_header_raises_no_handlers_and_the_server_keeps_serving()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        var early = await server.ConnectAsync(readGreeting: false);
        await early.SendAsync("PROXY TCP4 1.2");
        await early.DisposeAsync();

        var reset = await server.ConnectAsync(readGreeting: false);
        reset.Socket.LingerState = new LingerOption(true, 0);
        reset.Socket.Close();

        await ProxyTest.WaitUntilAsync(() => server.Server.ConnectionCount == 0);
        Assert.Empty(recorder.Connects);
        Assert.Empty(recorder.Closes);

        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendAsync("PROXY TCP4 192.0.2.7 192.0.2.2 1234 25\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Sockets_handed_over_by_the_application_read_the_header_too()
    {
        var recorder = new SessionRecorder();
        await using var server = new SmtpServer(TestServer.Defaults(o =>
        {
            recorder.Attach(o);
            o.UseProxy = true;
        }));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<Socket> accept = listener.AcceptSocketAsync();
        await using var client = await RawClient.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        _ = server.HandleConnectionAsync(await accept);
        await client.SendAsync("PROXY TCP4 192.0.2.44 192.0.2.2 4444 25\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(IPAddress.Parse("192.0.2.44"), Assert.Single(recorder.Connects).RemoteAddress);
    }

    [Fact]
    public async Task Streams_handed_over_by_the_application_have_no_header()
    {
        var recorder = new SessionRecorder();
        await using var server = new SmtpServer(TestServer.Defaults(o =>
        {
            recorder.Attach(o);
            o.UseProxy = true;
        }));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        await using var client = await RawClient.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using TcpClient accepted = await accept;
        _ = server.HandleStreamAsync(accepted.GetStream(), new IPEndPoint(IPAddress.Parse("198.51.100.1"), 1000));
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(IPAddress.Parse("198.51.100.1"), Assert.Single(recorder.Connects).RemoteAddress);
    }
}
