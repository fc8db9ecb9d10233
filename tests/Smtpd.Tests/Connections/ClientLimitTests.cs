using System.Net;

namespace Smtpd.Tests.Connections;

/// <summary>Connections per client address (issue 12 item 2; Postfix's <c>smtpd_client_connection_count_limit</c>).</summary>
public class ClientLimitTests
{
    private static readonly IPAddress Loopback2 = IPAddress.Parse("127.0.0.2");

    private static async Task<RawClient> ConnectFromAsync(TestServer server, IPAddress address)
    {
        RawClient client = await RawClient.ConnectFromAsync(address, server.EndPoint);
        return client;
    }

    [Fact]
    public async Task By_default_one_address_holds_at_most_half_of_MaxClients()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.MaxClients = 4);
        await using RawClient first = await server.ConnectAsync();
        await using RawClient second = await server.ConnectAsync();
        await using (RawClient third = await server.ConnectAsync(readGreeting: false))
        {
            Assert.Equal("421 4.7.0 mx.test Error: too many connections from 127.0.0.1", (await third.ReadReplyAsync()).Line);
            Assert.True(await third.IsClosedAsync());
        }

        // Another address still gets in.
        await using RawClient other = await ConnectFromAsync(server, Loopback2);
        Assert.Equal(220, (await other.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task MaxConnectionsPerClient_counts_sessions_per_address_and_frees_one_when_it_ends()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.MaxConnectionsPerClient = 2);
        RawClient first = await server.ConnectAsync();
        await using RawClient second = await server.ConnectAsync();
        await using (RawClient third = await server.ConnectAsync(readGreeting: false))
        {
            Assert.StartsWith("421 4.7.0 ", (await third.ReadReplyAsync()).Line);
        }

        Assert.Equal(221, (await first.CommandAsync("QUIT")).Code);
        await first.DisposeAsync();
        await using RawClient fourth = await server.ConnectAsync();
        Assert.Equal(250, (await fourth.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Zero_means_no_limit_per_address()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxClients = 4;
            o.MaxConnectionsPerClient = 0;
        });
        var clients = new List<RawClient>();
        for (int i = 0; i < 4; i++)
        {
            clients.Add(await server.ConnectAsync());
        }

        foreach (RawClient client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Peers_trusted_to_forward_clients_are_not_counted_per_address_and_others_still_are()
    {
        // A trusted XCLIENT/XFORWARD peer is the operator's proxy speaking for many clients: limiting it per address would
        // lock everyone out behind it; an untrusted address on the same server keeps its limit.
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxConnectionsPerClient = 1;
            o.UseXClient = new[] { "127.0.0.1/32" };
        });
        await using RawClient first = await server.ConnectAsync();
        await using RawClient second = await server.ConnectAsync();
        Assert.Equal(220, (await second.CommandAsync("XCLIENT ADDR=192.0.2.9")).Code);
        await using RawClient third = await server.ConnectAsync();
        Assert.Equal(250, (await third.CommandAsync("NOOP")).Code);

        await using RawClient untrusted = await ConnectFromAsync(server, Loopback2);
        Assert.Equal(220, (await untrusted.ReadReplyAsync()).Code);
        await using RawClient refused = await ConnectFromAsync(server, Loopback2);
        Assert.StartsWith("421 4.7.0 ", (await refused.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task Behind_a_PROXY_header_the_announced_client_is_counted_not_the_proxy()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxConnectionsPerClient = 1;
            o.UseProxy = true;
        });
        async Task<RawClient> ViaProxyAsync(string client)
        {
            RawClient raw = await server.ConnectAsync(readGreeting: false);
            await raw.SendAsync($"PROXY TCP4 {client} 203.0.113.7 35646 25\r\n");
            return raw;
        }

        await using RawClient first = await ViaProxyAsync("198.51.100.1");
        Assert.Equal(220, (await first.ReadReplyAsync()).Code);
        await using RawClient second = await ViaProxyAsync("198.51.100.2");
        Assert.Equal(220, (await second.ReadReplyAsync()).Code);
        await using RawClient again = await ViaProxyAsync("198.51.100.1");
        Assert.Equal("421 4.7.0 mx.test Error: too many connections from 198.51.100.1", (await again.ReadReplyAsync()).Line);
    }

    [Fact]
    public void A_negative_limit_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpServer(new SmtpServerOptions { MaxConnectionsPerClient = -1 }));
}
