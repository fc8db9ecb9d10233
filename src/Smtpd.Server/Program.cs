using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
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

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            await Console.Out.WriteAsync(ServerHelp.Text());
            return 0;
        }

        if (args.Contains("--version"))
        {
            await Console.Out.WriteLineAsync(ServerHelp.CommandName + " " + ServerHelp.Version);
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
        ConfigureLogging(builder.Logging, configuration);
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

        // Before AddSmtpServer, so the settings read from the configuration override these defaults.
        builder.Services.Configure<SmtpServerOptions>(ApplyProgramDefaults);
        builder.Services.AddSmtpServer<StoreSmtpServer>(ServerSettings.LibrarySettings(configuration), options =>
        {
            // The library logs through the host, whatever logger says: the levels of ConfigureLogging decide what shows.
            options.Logger = null;
            options.LoggerFactory = null;

            // A message over size is always refused, with the library's 552 (the store keeps nothing of it).
            options.RejectOversized = true;
            ConfigureAuthentication(options, settings);
        });
        return builder.Build();
    }

    /// <summary>
    /// The program's defaults for library options, where they differ from the library's (a setting overrides them):
    /// <c>unsafePreferInlineScheduling</c> is on, because every handler of the program is asynchronous (the folder
    /// store's blocking file work runs on the thread pool, the JetStream client is asynchronous).
    /// </summary>
    internal static void ApplyProgramDefaults(SmtpServerOptions options) => options.UnsafePreferInlineScheduling = true;

    /// <summary>
    /// Console logging with the time zone in every timestamp; the <c>Logging</c> section of the settings then sets levels
    /// (<c>Logging:LogLevel:Smtpd.Server</c>) and the format (<c>Logging:Console:FormatterName</c>: <c>simple</c>, one
    /// line per entry by default, or <c>json</c>), overriding these defaults. The library's own lines (category
    /// <c>component</c>, <c>Smtpd</c> by default) show from Warning up (a generated certificate, failed authentications,
    /// handler errors), and every session, command and reply with <c>logger: true</c>; the program's own (categories
    /// under <c>Smtpd.Server</c>) from Information up.
    /// </summary>
    private static void ConfigureLogging(ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.Services.Configure<ConsoleLoggerOptions>(console => console.FormatterName = ConsoleFormatterNames.Simple);
        logging.Services.Configure<SimpleConsoleFormatterOptions>(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff zzz ";
        });
        logging.Services.Configure<JsonConsoleFormatterOptions>(json =>
        {
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffzzz";
            json.JsonWriterOptions = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };   // a log line, never HTML
        });
        logging.AddConsole();
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        logging.AddFilter("NATS", LogLevel.Warning);
        bool verbose = ParseFlag(configuration["logger"]);
        logging.AddFilter(configuration["component"] ?? SmtpServerOptions.DefaultComponent, verbose ? LogLevel.Debug : LogLevel.Warning);
        logging.AddFilter("Smtpd.Server", LogLevel.Information);

        // Registered last, so the section's rules and formatter options win over the defaults above.
        logging.AddConfiguration(configuration.GetSection("Logging"));
    }

    private static bool ParseFlag(string? value) => value?.Trim() is "1" || bool.TryParse(value?.Trim(), out bool flag) && flag;

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
