using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Smtpd.Hosting;
using Smtpd.Server.Admin;
using Smtpd.Server.Delivery;

namespace Smtpd.Server;

/// <summary>
/// The ready-to-run server (docs/server.md): reads its settings, stores every accepted message in <c>store</c>, stops
/// gracefully on SIGTERM/SIGINT with exit status 0. A bad setting is one line on stderr and exit status 2, before
/// anything listens.
/// </summary>
internal static class Program
{
    private const int ExitBadSettings = 2;

    private const string Usage = """
        Usage: Smtpd.Server [--config FILE.json] [--SETTING VALUE]...
        Receives mail over SMTP (or LMTP) and stores each message as <id>.eml and <id>.json.
        Settings come from the JSON file, SMTPD_<SETTING> environment variables and --SETTING VALUE switches
        (the later wins), e.g. --listen 0.0.0.0:25 --store /var/spool/smtpd --size 10485760.
        Defaults: listen 127.0.0.1:2525, store ./mail. Every setting is described in docs/server.md.

        """;

    public static async Task<int> Main(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            await Console.Out.WriteAsync(Usage);
            return 0;
        }

        IHost host;
        try
        {
            IConfigurationRoot configuration = ServerConfiguration.Build(args);
            ServerSettings settings = ServerSettings.Read(configuration);
            host = BuildHost(configuration, settings);
        }
        catch (SmtpConfigurationException ex)
        {
            return await FailAsync(ex.Message);
        }

        try
        {
            return await RunAsync(host);
        }
        finally
        {
            if (host is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
            else
            {
                host.Dispose();
            }
        }
    }

    private static IHost BuildHost(IConfiguration configuration, ServerSettings settings)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        builder.Logging.AddFilter("NATS", LogLevel.Warning);

        // logger: true shows the library's lines, including every command and reply, as the reference's console logger does.
        builder.Logging.AddFilter(configuration["component"] ?? new SmtpServerOptions().Component, LogLevel.Debug);

        builder.Services.Configure<ConsoleLifetimeOptions>(lifetime => lifetime.SuppressStatusMessages = true);

        // The host aborts what is left after its shutdown timeout: give idle sessions their closeTimeout, then a message
        // still arriving up to one socketTimeout more.
        builder.Services.AddOptions<HostOptions>().PostConfigure<IOptions<SmtpServerOptions>>(
            static (host, smtp) => host.ShutdownTimeout = smtp.Value.CloseTimeout + smtp.Value.SocketTimeout);

        builder.Services.AddDeliveryTarget(settings);
        if (settings.Admin is { } admin)
        {
            // Before the SMTP server: a port in use fails the start before the SMTP port listens.
            builder.Services.AddAdminEndpoint(admin);
        }

        builder.Services.AddSingleton(settings.Recipients);
        builder.Services.AddSmtpServer<StoreSmtpServer>(configuration, options =>
        {
            if (!options.LogToConsole)
            {
                // The reference's default: the library is silent unless logger is true (already bound from the settings).
                options.Logger = NullLogger.Instance;
            }

            // A message over size is always refused, with the library's 552 (the store keeps nothing of it).
            options.RejectOversized = true;
            ConfigureAuthentication(options, settings);
        });
        return builder.Build();
    }

    /// <summary>
    /// Without <c>users</c> there is nobody to authenticate: AUTH is disabled (not advertised, not required), so any client
    /// can send, as a local sink should. With <c>users</c>, AUTH stays required as the library's default, and every
    /// mechanism checks the listed passwords (<see cref="SmtpPasswordAuthenticator"/>).
    /// </summary>
    private static void ConfigureAuthentication(SmtpServerOptions options, ServerSettings settings)
    {
        if (settings.Users.Count > 0)
        {
            options.OnAuth = new SmtpPasswordAuthenticator(settings.Users).AuthenticateAsync;
        }
        else if (!options.DisabledCommands.Contains("AUTH", StringComparer.OrdinalIgnoreCase))
        {
            options.DisabledCommands.Add("AUTH");
        }
    }

    private static async Task<int> RunAsync(IHost host)
    {
        try
        {
            // The target first (folders made, or NATS connected and the stream checked): the server's options depend on it.
            await host.Services.PrepareDeliveryAsync(CancellationToken.None);
            await host.StartAsync();
        }
        catch (Exception ex) when (ex is SmtpConfigurationException or IOException or ArgumentException or OptionsValidationException)
        {
            return await FailAsync(ex.Message);
        }
        catch (Exception ex)
        {
            return await FailAsync($"cannot start: {ex.GetType().Name}: {ex.Message}");
        }

        ILogger logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Smtpd.Server");
        SmtpServer server = host.Services.GetRequiredService<SmtpServer>();
        string store = host.Services.GetRequiredService<IDeliveryTarget>().Description;
        foreach (System.Net.EndPoint endPoint in server.EndPoints)
        {
            ServerLog.Listening(logger, endPoint, store);
        }

        using CancellationTokenRegistration stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping
            .Register(() => ServerLog.Stopping(logger, server.Options.CloseTimeout.TotalMilliseconds));
        await host.WaitForShutdownAsync();
        ServerLog.Stopped(logger);
        return 0;
    }

    private static async Task<int> FailAsync(string message)
    {
        await Console.Error.WriteLineAsync("smtpd: " + message.ReplaceLineEndings(" "));
        return ExitBadSettings;
    }
}
