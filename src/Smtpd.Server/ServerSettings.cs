using System.Net;
using Microsoft.Extensions.Configuration;
using Smtpd.Hosting;
using Smtpd.Server.Delivery;

namespace Smtpd.Server;

/// <summary>
/// The settings of the program itself (<c>store</c>, <c>nats</c>, <c>admin</c>, <c>users</c>, <c>recipients</c>; <c>config</c> names the file),
/// read from the merged configuration. Every other key must be a library option (<see cref="SmtpServerConfiguration"/>).
/// </summary>
internal sealed class ServerSettings
{
    /// <summary>The default <c>store</c>: <c>./mail</c>.</summary>
    public const string DefaultStore = "mail";

    /// <summary>The standard .NET <c>Logging</c> section (levels, console formatter).</summary>
    public const string LoggingKey = "Logging";

    /// <summary>The settings of the program itself, as <c>--help</c> lists them (the library options follow them there).</summary>
    public static readonly IReadOnlyList<SettingDescription> ProgramSettings =
    [
        new(ServerConfiguration.ConfigKey, "FILE.json", "none", "A JSON file of settings (command line or SMTPD_CONFIG only)."),
        new(SmtpServerConfiguration.ListenKey, "HOST:PORT,...", "127.0.0.1:2525", "Where to listen: IPv4, [IPv6], * or localhost, and a port (0 picks a free one)."),
        new("store", "FOLDER|nats://HOST:PORT,...", DefaultStore, "Folder for accepted messages, each an <id>.eml and <id>.json pair; or NATS servers: publish each message to a JetStream stream."),
        new("nats", "{stream,subject,...}", "MAIL, mail.in", "The JetStream stream when store lists NATS servers: stream, subject, createStream, replicas, publishTimeout (ms), credentials (.creds file), tlsCa, tlsCert, tlsKey (PEM files)."),
        new("admin", "HOST:PORT", "none", "HTTP endpoint with GET /healthz (200 or 503) and GET /metrics (Prometheus)."),
        new("users", "{NAME:PASSWORD}", "none", "Accounts for AUTH (--users:alice secret); without any, AUTH is disabled."),
        new("recipients", "ADDRESS|@DOMAIN,...", "everyone", "Accepted recipients; any other gets 550 5.1.1."),
        new(LoggingKey, "{LogLevel,Console}", "Information", "Log levels by category and the console format, as in any .NET host (--Logging:Console:FormatterName json)."),
    ];

    private static readonly string[] ProgramKeys = [.. ProgramSettings.Select(s => s.Name)];

    private ServerSettings(string store, JetStreamSettings? jetStream, IPEndPoint? admin, IReadOnlyDictionary<string, string> users, RecipientPolicy recipients)
    {
        Store = store;
        JetStream = jetStream;
        Admin = admin;
        Users = users;
        Recipients = recipients;
    }

    /// <summary>The full path of the store folder (unused when <see cref="JetStream"/> is set).</summary>
    public string Store { get; }

    /// <summary>The JetStream target, when <c>store</c> is a list of NATS servers.</summary>
    public JetStreamSettings? JetStream { get; }

    /// <summary>The <c>admin</c> endpoint (<c>/healthz</c>, <c>/metrics</c>), or null.</summary>
    public IPEndPoint? Admin { get; }

    /// <summary>The <c>users</c> setting: user name to password.</summary>
    public IReadOnlyDictionary<string, string> Users { get; }

    /// <summary>The <c>recipients</c> setting.</summary>
    public RecipientPolicy Recipients { get; }

    /// <summary>Reads and checks the program's settings; refuses keys that are neither the program's nor a library option.</summary>
    /// <param name="configuration">The merged configuration.</param>
    /// <exception cref="SmtpConfigurationException">A setting is unknown or unusable.</exception>
    public static ServerSettings Read(IConfiguration configuration)
    {
        foreach (IConfigurationSection setting in configuration.GetChildren())
        {
            if (!ProgramKeys.Contains(setting.Key, StringComparer.OrdinalIgnoreCase) && !SmtpServerConfiguration.IsSetting(setting.Key))
            {
                throw new SmtpConfigurationException($"unknown setting '{setting.Key}'");
            }
        }

        IConfigurationSection storeSetting = configuration.GetSection("store");
        string store = storeSetting.Value ?? (storeSetting.GetChildren().Any()
            ? throw new SmtpConfigurationException("store: expected a folder path")
            : DefaultStore);
        if (store.Trim().Length == 0)
        {
            throw new SmtpConfigurationException("store: expected a folder path");
        }

        IConfigurationSection nats = configuration.GetSection("nats");
        JetStreamSettings? jetStream = JetStreamSettings.IsServerList(store) ? JetStreamSettings.Read(store, nats)
            : nats.Exists() ? throw new SmtpConfigurationException("nats: set, but store is a folder (make store a nats:// or tls:// URL list)")
            : null;
        IPEndPoint? admin = null;
        if (configuration["admin"] is { Length: > 0 } adminText)
        {
            try
            {
                admin = SmtpServerConfiguration.ParseEndPoint(adminText);
            }
            catch (FormatException ex)
            {
                throw new SmtpConfigurationException($"admin: {ex.Message}", ex);
            }
        }

        IConfigurationSection recipients = configuration.GetSection("recipients");
        return new ServerSettings(jetStream is null ? Path.GetFullPath(store) : "", jetStream, admin, ReadUsers(configuration.GetSection("users")), new RecipientPolicy(SmtpServerConfiguration.ReadList(recipients), recipients.Path));
    }

    /// <summary>
    /// The library's settings (<c>listen</c> and the options) of <paramref name="configuration"/>, for <c>AddSmtpServer</c>,
    /// which refuses any other key.
    /// </summary>
    /// <param name="configuration">The merged configuration.</param>
    public static IConfiguration LibrarySettings(IConfiguration configuration) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(configuration.AsEnumerable().Where(setting => SmtpServerConfiguration.IsSetting(setting.Key.Split(':', 2)[0])))
            .Build();

    private static Dictionary<string, string> ReadUsers(IConfigurationSection setting)
    {
        if (setting.Value is { Length: > 0 })
        {
            throw new SmtpConfigurationException($"{setting.Path}: expected {{ \"name\": \"password\", ... }}");
        }

        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IConfigurationSection user in setting.GetChildren())
        {
            if (string.IsNullOrEmpty(user.Value))
            {
                throw new SmtpConfigurationException($"{user.Path}: expected a non-empty password");
            }

            users[user.Key] = user.Value;
        }

        return users;
    }
}
