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
    public async Task A_session_is_counted_under_its_address_at_the_greeting_whatever_XCLIENT_makes_of_it()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxConnectionsPerClient = 1;
            o.UseXClient = new[] { "127.0.0.0/8" };
        });
        for (int i = 0; i < 3; i++)
        {
            await using RawClient client = await server.ConnectAsync();
            Assert.Equal(220, (await client.CommandAsync("XCLIENT ADDR=192.0.2.9")).Code);
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
            Assert.True(await client.IsClosedAsync());
        }
    }

    [Fact]
    public void A_negative_limit_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpServer(new SmtpServerOptions { MaxConnectionsPerClient = -1 }));
}
