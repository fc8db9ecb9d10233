using System.Net;

namespace Smtpd.Tests;

/// <summary>A real <see cref="SmtpServer"/> on 127.0.0.1 with a free port, for one test.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(SmtpServer server, IPEndPoint endPoint)
    {
        Server = server;
        EndPoint = endPoint;
    }

    public SmtpServer Server { get; }

    public IPEndPoint EndPoint { get; }

    public int Port => EndPoint.Port;

    /// <summary>Options every test starts from: fixed name, no reverse DNS, no greeting pause, no pause before AUTH refusals (tests of it set one).</summary>
    public static SmtpServerOptions Defaults(Action<SmtpServerOptions>? configure = null)
    {
        var options = new SmtpServerOptions
        {
            Name = "mx.test",
            DisableReverseLookup = true,
            GreetingDelay = TimeSpan.Zero,
            SocketTimeout = TimeSpan.FromSeconds(20),
            AuthFailureDelay = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return options;
    }

    public static Task<TestServer> StartAsync(Action<SmtpServerOptions>? configure = null) => StartAsync(Defaults(configure));

    public static async Task<TestServer> StartAsync(SmtpServerOptions options) => await StartAsync(new SmtpServer(options));

    public static async Task<TestServer> StartAsync(SmtpServer server)
    {
        var endPoint = (IPEndPoint)await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return new TestServer(server, endPoint);
    }

    /// <summary>Connects a raw client and reads the greeting.</summary>
    public async Task<RawClient> ConnectAsync(bool readGreeting = true)
    {
        var client = await RawClient.ConnectAsync(EndPoint);
        if (readGreeting)
        {
            Reply greeting = await client.ReadReplyAsync();
            Assert.Equal(220, greeting.Code);
        }

        return client;
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
