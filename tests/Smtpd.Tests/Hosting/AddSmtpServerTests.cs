using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MimeKit;
using Smtpd.Hosting;

namespace Smtpd.Tests.Hosting;

/// <summary><c>AddSmtpServer</c> in a generic host: configuration, handlers from DI, the host's logging, start and stop.</summary>
public class AddSmtpServerTests
{
    private static readonly Dictionary<string, string?> BaseSettings = new()
    {
        ["Smtp:listen"] = "127.0.0.1:0",
        ["Smtp:name"] = "hosted.test",
        ["Smtp:disableReverseLookup"] = "true",
        ["Smtp:greetingDelay"] = "0",
        ["Smtp:authOptional"] = "true",
    };

    private static HostApplicationBuilder Builder(Dictionary<string, string?>? settings = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(BaseSettings).AddInMemoryCollection(settings ?? []);
        return builder;
    }

    private static async Task<string> SendAsync(IPEndPoint endPoint, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@example.com"));
        message.To.Add(MailboxAddress.Parse("user@example.org"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "hosted" };
        using var client = new SmtpClient();
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, MailKit.Security.SecureSocketOptions.None);
        string reply = await client.SendAsync(message);
        await client.DisconnectAsync(true);
        return reply;
    }

    [Fact]
    public async Task Generic_host_runs_the_server_from_configuration_with_a_delegate_handler()
    {
        var subjects = new ConcurrentQueue<string>();
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"), options => options.OnData = async (message, session, ct) =>
        {
            MimeMessage parsed = await MimeMessage.LoadAsync(message, ct);
            subjects.Enqueue(parsed.Subject ?? "");
            return SmtpResult.Accept("stored");
        });
        using IHost host = builder.Build();
        await host.StartAsync();
        SmtpServer server = host.Services.GetRequiredService<SmtpServer>();
        Assert.Equal("hosted.test", server.Options.Name);

        Assert.Equal("stored", await SendAsync((IPEndPoint)server.EndPoints.Single(), "via the host"));
        Assert.Equal(["via the host"], subjects);
        await host.StopAsync();
    }

    [Fact]
    public async Task Subclass_gets_its_dependencies_from_the_container()
    {
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSingleton<Mailbox>();
        builder.Services.AddSmtpServer<MailboxServer>(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        await host.StartAsync();
        MailboxServer server = host.Services.GetRequiredService<MailboxServer>();
        Assert.Same(server, host.Services.GetRequiredService<SmtpServer>());

        await SendAsync((IPEndPoint)server.EndPoints.Single(), "to the mailbox");
        Assert.Equal(["user@example.org"], host.Services.GetRequiredService<Mailbox>().Recipients);
        await host.StopAsync();
    }

    [Fact]
    public async Task Server_logs_through_the_hosts_logger_factory()
    {
        var provider = new CollectingLoggerProvider();
        HostApplicationBuilder builder = Builder(new() { ["Smtp:component"] = "smtp-test" });
        builder.Logging.AddProvider(provider);
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        await host.StartAsync();
        SmtpServer server = host.Services.GetRequiredService<SmtpServer>();
        await SendAsync((IPEndPoint)server.EndPoints.Single(), "logged");
        await host.StopAsync();
        Assert.Contains(provider.Lines, line => line.StartsWith("smtp-test: SMTP server listening on 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(provider.Lines, line => line.StartsWith("smtp-test: [", StringComparison.Ordinal) && line.Contains("Connection from", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("None", "Information", true)]
    [InlineData("Information", "Warning", false)]
    public async Task Logging_LogLevel_Smtpd_sets_the_level_of_the_servers_lines(string defaultLevel, string smtpdLevel, bool logged)
    {
        var provider = new CollectingLoggerProvider();
        // Without STARTTLS no certificate is generated, so the server has no warning to log.
        HostApplicationBuilder builder = Builder(new()
        {
            ["Logging:LogLevel:Default"] = defaultLevel,
            ["Logging:LogLevel:Smtpd"] = smtpdLevel,
            ["Smtp:disabledCommands"] = "STARTTLS",
        });
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddProvider(provider);
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        await host.StartAsync();
        await SendAsync((IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single(), "filtered");
        await host.StopAsync();
        Assert.Equal(logged, provider.Lines.Any(line => line.StartsWith("Smtpd: SMTP server listening on ", StringComparison.Ordinal)));
        Assert.Equal(logged, provider.Lines.Any(line => line.StartsWith("Smtpd: [", StringComparison.Ordinal) && line.Contains("Connection from", StringComparison.Ordinal)));
        if (logged)
        {
            // Default None: nothing but the Smtpd category shows.
            Assert.All(provider.Lines, line => Assert.StartsWith("Smtpd: ", line, StringComparison.Ordinal));
        }
        else
        {
            Assert.DoesNotContain(provider.Lines, line => line.StartsWith("Smtpd", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task With_logger_false_an_authentication_failure_is_still_a_warning_of_the_host_without_the_secret()
    {
        var provider = new CollectingLoggerProvider();
        HostApplicationBuilder builder = Builder(new() { ["Smtp:logger"] = "false", ["Smtp:allowInsecureAuth"] = "true", ["Smtp:authMethods:0"] = "PLAIN" });
        builder.Logging.AddProvider(provider);
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"), options => options.OnAuth = (_, _, _) => ValueTask.FromResult(SmtpAuthResult.Failure()));
        using IHost host = builder.Build();
        await host.StartAsync();
        var endPoint = (IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single();
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, MailKit.Security.SecureSocketOptions.None);
            await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync("alice", "mistyped-secret"));
        }

        await host.StopAsync();
        Assert.Contains(provider.Lines, line => line.StartsWith("Smtpd: [", StringComparison.Ordinal) && line.Contains("Authentication failed for 127.0.0.1 as alice with PLAIN", StringComparison.Ordinal));
        Assert.DoesNotContain(provider.Lines, line => line.Contains("mistyped-secret", StringComparison.Ordinal));
    }

    [Fact]
    public void Server_uses_the_hosts_meter_factory()
    {
        HostApplicationBuilder builder = Builder();
        builder.Services.AddMetrics();
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        Assert.Same(host.Services.GetRequiredService<IMeterFactory>(), host.Services.GetRequiredService<SmtpServer>().Options.MeterFactory);
    }

    [Fact]
    public async Task Stopping_the_host_closes_the_listener_and_the_idle_sessions()
    {
        HostApplicationBuilder builder = Builder(new() { ["Smtp:closeTimeout"] = "200" });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        await host.StartAsync();
        var endPoint = (IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single();
        RawClient idle = await RawClient.ConnectAsync(endPoint);
        Assert.Equal(220, (await idle.ReadReplyAsync()).Code);

        Task stop = host.StopAsync();
        Assert.Matches("^421 .*Server shutting down$", (await idle.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        Assert.True(await idle.IsClosedAsync());
        await idle.DisposeAsync();
        await stop.WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<SocketException>(() => RawClient.ConnectAsync(endPoint));
    }

    [Fact]
    public async Task Bad_setting_fails_the_start_before_anything_listens()
    {
        HostApplicationBuilder builder = Builder(new() { ["Smtp:listen"] = "127.0.0.1:0", ["Smtp:size"] = "huge" });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        SmtpConfigurationException error = await Assert.ThrowsAsync<SmtpConfigurationException>(() => host.StartAsync());
        Assert.Equal("Smtp:size: 'huge' is not a whole number", error.Message);
    }

    [Fact]
    public async Task Port_in_use_fails_the_start_and_closes_the_other_endpoints()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        using var free = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        free.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var freeEndPoint = (IPEndPoint)free.LocalEndPoint!;
        free.Close();

        HostApplicationBuilder builder = Builder(new()
        {
            ["Smtp:listen"] = null,
            ["Smtp:listen:0"] = freeEndPoint.ToString(),
            ["Smtp:listen:1"] = taken.LocalEndPoint!.ToString(),
        });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        IOException error = await Assert.ThrowsAsync<IOException>(() => host.StartAsync());
        Assert.Equal($"Cannot listen on {taken.LocalEndPoint}: Address already in use", error.Message);
        await Assert.ThrowsAsync<SocketException>(() => RawClient.ConnectAsync(freeEndPoint));
    }

    [Fact]
    public async Task Endpoints_can_be_given_in_code()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSmtpServer(configure: options => options.AuthOptional = true);
        builder.Services.Configure<SmtpHostingOptions>(hosting => hosting.EndPoints.Add(new IPEndPoint(IPAddress.Loopback, 0)));
        using IHost host = builder.Build();
        await host.StartAsync();
        var endPoint = (IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single();
        Assert.Equal(IPAddress.Loopback, endPoint.Address);
        Assert.NotEqual(0, endPoint.Port);
        await host.StopAsync();
    }

    public sealed class Mailbox
    {
        public ConcurrentQueue<string> Recipients { get; } = new();
    }

    public sealed class MailboxServer(SmtpServerOptions options, Mailbox mailbox) : SmtpServer(options)
    {
        protected override async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
        {
            await message.CopyToAsync(Stream.Null, cancellationToken);
            foreach (SmtpAddress recipient in session.Envelope.RcptTo)
            {
                mailbox.Recipients.Enqueue(recipient.Address);
            }

            return SmtpResult.Accept();
        }
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new CollectingLogger(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class CollectingLogger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(category + ": " + formatter(state, exception));
        }
    }
}
