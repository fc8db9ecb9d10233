using System.Diagnostics;
using System.Net;

namespace Smtpd.Tests.Proxy;

public class ProxyTrustTests
{
    private static readonly IPAddress Loopback2 = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Untrusted_peer_sending_a_v1_header_gets_it_treated_as_an_unknown_command()
    {
        var recorder = new SessionRecorder();
        await using var server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseProxy = new[] { "10.0.0.0/8" };
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("PROXY TCP4 198.51.100.22 203.0.113.7 35646 80")).Line);
        Assert.Equal(250, (await client.CommandAsync("HELO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        SessionSnapshot session = Assert.Single(recorder.MailFroms);
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Null(session.ProxyHeader);
    }

    [Fact]
    public async Task Untrusted_peer_sending_a_v2_header_gets_no_effect()
    {
        var recorder = new SessionRecorder();
        await using var server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseProxy = TrustedPeers.Of("10.0.0.0/8");
        });
        await using (var client = await server.ConnectAsync())
        {
            await client.SendBytesAsync(ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25).Build());

            // The signature is built to read as blank lines and QUIT to a protocol that does not expect it.
            string rest = await client.ReadToEndAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("500 Error: command not recognized\n500 Error: command not recognized\n500 Error: command not recognized\n221 Bye\n", rest);
        }

        await recorder.FirstClose.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(IPAddress.Loopback, Assert.Single(recorder.Connects).RemoteAddress);
        Assert.Null(Assert.Single(recorder.Closes).ProxyHeader);
    }

    [Theory]
    [InlineData("127.0.0.2")]
    [InlineData("127.0.0.2/31")]
    [InlineData("127.0.0.3/31")]
    [InlineData("::ffff:127.0.0.2")]
    [InlineData("::ffff:127.0.0.2/127")]
    [InlineData("::ffff:7f00:2/128")]
    public async Task Listed_proxies_must_send_the_header_while_other_peers_connect_directly(string entry)
    {
        var recorder = new SessionRecorder();
        await using var server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseProxy = TrustedPeers.Of(entry, "192.0.2.1");
        });

        await using (var proxied = await RawClient.ConnectFromAsync(Loopback2, server.EndPoint))
        {
            // The listed peer gets nothing until it has sent its header.
            await Assert.ThrowsAsync<TimeoutException>(() => proxied.ReadLineAsync(TimeSpan.FromMilliseconds(200)));
            await proxied.SendAsync("PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\n");
            Assert.Equal(220, (await proxied.ReadReplyAsync()).Code);
        }

        await using (var direct = await server.ConnectAsync())
        {
            Assert.Equal(250, (await direct.CommandAsync("NOOP")).Code);
        }

        await ProxyTest.WaitUntilAsync(() => recorder.Connects.Count == 2);
        Assert.Equal(["198.51.100.22", "127.0.0.1"], recorder.Connects.Select(c => c.RemoteAddress.ToString()));
    }

    [Fact]
    public async Task Sockets_waiting_for_the_header_count_toward_MaxClients()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.UseProxy = true;
            o.MaxClients = 2;
        });
        await using var first = await server.ConnectAsync(readGreeting: false);
        await using var second = await server.ConnectAsync(readGreeting: false);
        await ProxyTest.WaitUntilAsync(() => server.Server.PendingSocketCount == 2);

        await using var third = await server.ConnectAsync(readGreeting: false);
        var watch = Stopwatch.StartNew();
        Assert.Equal("", await third.ReadToEndAsync(TimeSpan.FromSeconds(3)));
        Assert.InRange(watch.ElapsedMilliseconds, 0, 1000);

        await first.SendAsync("PROXY TCP4 192.0.2.1 192.0.2.2 1 25\r\n");
        Assert.Equal(220, (await first.ReadReplyAsync()).Code);
        await ProxyTest.WaitUntilAsync(() => server.Server.PendingSocketCount == 1);
    }

    [Fact]
    public async Task Direct_sockets_are_never_pending()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.UseProxy = new[] { "127.0.0.2" };
            o.MaxClients = 1;
        });
        await using var direct = await server.ConnectAsync();
        Assert.Equal(0, server.Server.PendingSocketCount);
        await using var proxied = await RawClient.ConnectFromAsync(Loopback2, server.EndPoint);
        await ProxyTest.WaitUntilAsync(() => server.Server.PendingSocketCount == 1);
    }

    [Fact]
    public async Task CloseAsync_drops_sockets_waiting_for_the_header_at_once()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.UseProxy = true;
            o.CloseTimeout = TimeSpan.FromSeconds(30);
        });
        await using var waiting = await server.ConnectAsync(readGreeting: false);
        await ProxyTest.WaitUntilAsync(() => server.Server.PendingSocketCount == 1);
        var watch = Stopwatch.StartNew();
        await server.Server.CloseAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(watch.ElapsedMilliseconds, 0, 3000);
        Assert.True(await waiting.IsClosedAsync(TimeSpan.FromSeconds(3)));
    }

    [Theory]
    [InlineData("UseProxy", "10.0.0.300")]
    [InlineData("UseProxy", "10.0.0.0/33")]
    [InlineData("UseProxy", "10.0.0.0/")]
    [InlineData("UseProxy", "10.0.0.0/8/8")]
    [InlineData("UseProxy", "010.0.0.1")]
    [InlineData("UseProxy", "mail.example.com")]
    [InlineData("UseXClient", "2001:db8::/129")]
    [InlineData("UseXClient", "1.2.3")]
    [InlineData("UseXForward", "fe80::1%eth0")]
    [InlineData("UseXForward", "")]
    [InlineData("IgnoredHosts", "*")]
    [InlineData("IgnoredHosts", "10.0.0.0/-1")]
    public void Bad_list_entries_are_refused_at_construction_with_a_clear_message(string option, string entry)
    {
        SmtpServerOptions options = TestServer.Defaults(o =>
        {
            switch (option)
            {
                case "UseProxy":
                    o.UseProxy = new[] { "127.0.0.1", entry };
                    break;
                case "UseXClient":
                    o.UseXClient = new[] { entry };
                    break;
                case "UseXForward":
                    o.UseXForward = TrustedPeers.Of("*", entry);
                    break;
                default:
                    o.IgnoredHosts = [entry];
                    break;
            }
        });
        ArgumentException error = Assert.Throws<ArgumentException>(() => new SmtpServer(options));
        Assert.Equal(option, error.ParamName);
        Assert.Contains($"'{entry}' is not an IP address or CIDR range", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changing_the_options_after_construction_has_no_effect()
    {
        var recorder = new SessionRecorder();
        SmtpServerOptions options = TestServer.Defaults(recorder.Attach);
        await using var server = await TestServer.StartAsync(options);
        options.IgnoredHosts.Add("127.0.0.1");
        options.UseXClient = true;
        await using var client = await server.ConnectAsync();
        Assert.DoesNotContain("XCLIENT", (await client.CommandAsync("EHLO x")).ToString(), StringComparison.Ordinal);
        Assert.Single(recorder.Connects);
    }

    [Fact]
    public void TrustedPeers_forms()
    {
        Assert.False(TrustedPeers.None.IsEnabled);
        Assert.True(TrustedPeers.All.IsAll);
        TrustedPeers fromBool = true;
        Assert.Same(TrustedPeers.All, fromBool);
        TrustedPeers list = new[] { "10.0.0.0/8", "192.0.2.1" };
        Assert.True(list.IsEnabled);
        Assert.False(list.IsAll);
        Assert.Equal(["10.0.0.0/8", "192.0.2.1"], list.Entries);
        Assert.True(TrustedPeers.Of("10.0.0.1", "*").IsAll);
        Assert.Same(TrustedPeers.None, TrustedPeers.Of());
    }

    [Theory]
    [InlineData("true", true, new string[0])]
    [InlineData("TRUE", true, new string[0])]
    [InlineData("*", true, new[] { "*" })]
    [InlineData("false", false, new string[0])]
    [InlineData("  ", false, new string[0])]
    [InlineData("10.0.0.0/8, 192.0.2.1 2001:db8::/32", false, new[] { "10.0.0.0/8", "192.0.2.1", "2001:db8::/32" })]
    public void TrustedPeers_text_form_for_configuration(string text, bool all, string[] entries)
    {
        TrustedPeers peers = TrustedPeers.Parse(text);
        Assert.Equal(all, peers.IsAll);
        Assert.Equal(entries, peers.Entries);
        Assert.Equal(all || entries.Length > 0, peers.IsEnabled);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.200.3.4", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("10.1.2.3/8", "10.9.9.9", true)]
    [InlineData("10.0.0.5", "::ffff:10.0.0.5", true)]
    [InlineData("::ffff:10.0.0.5", "10.0.0.5", true)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    [InlineData("2001:db8::/32", "2001:db8:ffff::1", true)]
    [InlineData("2001:db8::/32", "2001:db9::1", false)]
    [InlineData("2001:DB8::1", "2001:db8::1", true)]
    [InlineData("::/0", "192.0.2.1", true)]
    [InlineData("::ffff:0:0/96", "192.0.2.1", true)]
    [InlineData("::1", "127.0.0.1", false)]
    [InlineData("192.0.2.1", "255.255.255.255", false)]
    public void Address_and_range_matching(string entry, string address, bool expected) =>
        Assert.Equal(expected, AddressMatcher.Parse([entry], "Test", allowWildcard: true).Contains(IPAddress.Parse(address)));
}
