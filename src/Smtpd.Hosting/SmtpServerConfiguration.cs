using System.Globalization;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Smtpd.Hosting;

/// <summary>
/// Reads <see cref="SmtpServerOptions"/> and the listen endpoints from an <see cref="IConfiguration"/> section whose
/// keys are the reference's option names (<c>size</c>, <c>hideSTARTTLS</c>, <c>socketTimeout</c>, …). Keys match
/// case-insensitively, so camelCase and PascalCase both work.
/// </summary>
/// <remarks>
/// <para>Values: numbers and booleans as text (<c>true</c>/<c>false</c>, also <c>1</c>/<c>0</c>); every time
/// (<c>socketTimeout</c>, <c>closeTimeout</c>, <c>greetingDelay</c>, <c>reverseLookupTimeout</c>) in milliseconds as in
/// the reference, or as a .NET time span (<c>00:00:30</c>); lists as an array or as one comma-separated value.</para>
/// <para><c>logger</c>: <c>false</c> silences the server; <c>true</c> logs (through the host's logging when the server
/// runs in a host, else to the console). <c>listen</c>: <c>"HOST:PORT"</c> or a list of endpoints, each with settings of
/// its own, see <see cref="ReadListenOptions"/>.</para>
/// <para>Keys this class does not know are left alone (the section may hold the application's own settings; use
/// <see cref="IsSetting(string)"/> to be strict). A value that cannot be used, or an option this version of Smtpd does
/// not have yet, throws <see cref="SmtpConfigurationException"/> naming the key.</para>
/// </remarks>
public static class SmtpServerConfiguration
{
    /// <summary>The key of the listen endpoints.</summary>
    public const string ListenKey = "listen";

    /// <summary>The key of an endpoint's address inside a <c>listen</c> object.</summary>
    private const string AddressKey = "address";

    /// <summary>Every option property that configuration can set: simple values only (no delegates, loggers, resolvers;
    /// <see cref="SmtpServerOptions.LogToConsole"/> is the <c>logger</c> setting).</summary>
    private static readonly Dictionary<string, PropertyInfo> Properties = typeof(SmtpServerOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite && p.SetMethod!.IsPublic && IsBindable(p.PropertyType) && p.Name != nameof(SmtpServerOptions.LogToConsole))
        .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Settings that do not map onto one property by name and type.</summary>
    private static readonly Dictionary<string, Action<IConfigurationSection, SmtpServerOptions>> SpecialSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["logger"] = BindLogger,

        // In configuration these are paths to PEM files (server-program.md), where the options hold PEM text.
        ["key"] = (setting, options) => options.Key = ReadPemFile(setting, RequireValue(setting)),
        ["cert"] = (setting, options) => options.Cert = ReadPemFile(setting, RequireValue(setting)),
        ["ca"] = (setting, options) => options.Ca = ReadList(setting).Select(path => ReadPemFile(setting, path)).ToList(),
        ["sniOptions"] = BindSniOptions,

        // true, false, "*", or a list of addresses and CIDR ranges (a JSON array, or one comma/space separated value).
        ["useProxy"] = (setting, options) => options.UseProxy = ReadTrustedPeers(setting),
        ["useXClient"] = (setting, options) => options.UseXClient = ReadTrustedPeers(setting),
        ["useXForward"] = (setting, options) => options.UseXForward = ReadTrustedPeers(setting),

        // The reference's false means its default of 10; a number is the limit (0: no limit).
        ["maxAllowedUnauthenticatedCommands"] = BindUnauthenticatedLimit,
    };

    /// <summary>Is <paramref name="key"/> a setting that <see cref="Bind"/> or <see cref="ReadEndPoints"/> reads?</summary>
    /// <param name="key">A configuration key, any case.</param>
    public static bool IsSetting(string key) =>
        string.Equals(key, ListenKey, StringComparison.OrdinalIgnoreCase)
        || Properties.ContainsKey(key) || SpecialSettings.ContainsKey(key);

    /// <summary>Sets every option present in <paramref name="configuration"/> on <paramref name="options"/>; absent ones keep their values.</summary>
    /// <param name="configuration">The section holding the settings.</param>
    /// <param name="options">The options to change.</param>
    /// <exception cref="SmtpConfigurationException">A value cannot be used.</exception>
    public static void Bind(IConfiguration configuration, SmtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        List<(IConfigurationSection Setting, Action<IConfigurationSection, SmtpServerOptions> Bind)> special = [];
        foreach (IConfigurationSection setting in configuration.GetChildren())
        {
            if (SpecialSettings.TryGetValue(setting.Key, out Action<IConfigurationSection, SmtpServerOptions>? bind))
            {
                special.Add((setting, bind));
            }
            else if (Properties.TryGetValue(setting.Key, out PropertyInfo? property))
            {
                object? value = Convert(setting, property.PropertyType);
                try
                {
                    property.SetValue(options, value);
                }
                catch (TargetInvocationException ex) when (ex.InnerException is ArgumentException refused)
                {
                    // A setter that checks its value (maxAuthFailures: -1).
                    throw new SmtpConfigurationException($"{setting.Path}: {refused.Message.ReplaceLineEndings(" ")}", refused);
                }
            }
        }

        // After the plain values, which they may use (sniOptions takes the passphrase).
        foreach ((IConfigurationSection setting, Action<IConfigurationSection, SmtpServerOptions> bind) in special)
        {
            bind(setting, options);
        }
    }

    /// <summary>The entries themselves are checked by the SmtpServer constructor (an ArgumentException naming the option).</summary>
    private static TrustedPeers ReadTrustedPeers(IConfigurationSection setting) =>
        setting.GetChildren().Any() ? TrustedPeers.Of(ReadList(setting)) : TrustedPeers.Parse(setting.Value);

    private static void BindUnauthenticatedLimit(IConfigurationSection setting, SmtpServerOptions options)
    {
        string value = RequireValue(setting).Trim();
        if (bool.TryParse(value, out bool flag))
        {
            if (flag)
            {
                throw new SmtpConfigurationException($"{setting.Path}: 'true' is not a limit; use a number, 0 for no limit, or false for the default of 10");
            }

            options.MaxAllowedUnauthenticatedCommands = 10;
            return;
        }

        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int limit))
        {
            throw new SmtpConfigurationException($"{setting.Path}: '{value}' is not a number of commands (0 for no limit, false for the default of 10)");
        }

        options.MaxAllowedUnauthenticatedCommands = limit;
    }

    /// <summary>
    /// The endpoints of the <c>listen</c> setting, each with its own settings: one <c>"HOST:PORT"</c> (or several,
    /// comma-separated), or a list whose entries are <c>"HOST:PORT"</c> or an object <c>{ "address": "HOST:PORT", ... }</c>
    /// whose other keys replace, for that endpoint only, any of <c>secure</c>, <c>hideSTARTTLS</c>, <c>authOptional</c>,
    /// <c>allowInsecureAuth</c>, <c>authMethods</c>, <c>useProxy</c>, <c>useXClient</c>, <c>useXForward</c>, <c>lmtp</c>,
    /// <c>size</c> (any case, values as for the server). Empty when the setting is absent.
    /// </summary>
    /// <param name="configuration">The section holding the settings.</param>
    /// <exception cref="SmtpConfigurationException">An entry is not a valid endpoint, or has a key or value it cannot use.</exception>
    public static IReadOnlyList<SmtpListenOptions> ReadListenOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection listen = configuration.GetSection(ListenKey);
        if (listen.Value is not null)
        {
            return ReadList(listen).Select(entry => new SmtpListenOptions(ParseEndPoint(listen, entry))).ToList();
        }

        IConfigurationSection[] entries = listen.GetSection(AddressKey).Value is not null ? [listen] : [.. listen.GetChildren()];
        var endpoints = new List<SmtpListenOptions>(entries.Length);
        foreach (IConfigurationSection entry in entries)
        {
            endpoints.Add(entry.Value is { } text ? new SmtpListenOptions(ParseEndPoint(entry, text)) : ReadListenObject(entry));
        }

        return endpoints;
    }

    /// <summary>The addresses of <see cref="ReadListenOptions"/> (without their per-endpoint settings).</summary>
    /// <param name="configuration">The section holding the settings.</param>
    /// <exception cref="SmtpConfigurationException">An entry is not a valid endpoint.</exception>
    public static IReadOnlyList<EndPoint> ReadEndPoints(IConfiguration configuration) =>
        ReadListenOptions(configuration).Select(listen => listen.EndPoint).ToList();

    /// <summary><c>{ "address": "HOST:PORT", "secure": true, ... }</c>: an endpoint and the settings it replaces.</summary>
    private static SmtpListenOptions ReadListenObject(IConfigurationSection entry)
    {
        IConfigurationSection address = entry.GetSection(AddressKey);
        var listen = new SmtpListenOptions(ParseEndPoint(address, address.Value ?? throw Invalid(address, "an endpoint \"HOST:PORT\"")));
        foreach (IConfigurationSection setting in entry.GetChildren())
        {
            switch (setting.Key.ToUpperInvariant())
            {
                case "ADDRESS":
                    break;
                case "SECURE":
                    listen.TlsMode = ParseBool(setting, RequireValue(setting)) ? SmtpTlsMode.Implicit : SmtpTlsMode.StartTls;
                    break;
                case "HIDESTARTTLS":
                    listen.HideStartTls = ParseBool(setting, RequireValue(setting));
                    break;
                case "AUTHOPTIONAL":
                    listen.AuthOptional = ParseBool(setting, RequireValue(setting));
                    break;
                case "ALLOWINSECUREAUTH":
                    listen.AllowInsecureAuth = ParseBool(setting, RequireValue(setting));
                    break;
                case "AUTHMETHODS":
                    listen.AuthMethods = [.. ReadList(setting)];
                    break;
                case "USEPROXY":
                    listen.UseProxy = ReadTrustedPeers(setting);
                    break;
                case "USEXCLIENT":
                    listen.UseXClient = ReadTrustedPeers(setting);
                    break;
                case "USEXFORWARD":
                    listen.UseXForward = ReadTrustedPeers(setting);
                    break;
                case "LMTP":
                    listen.Lmtp = ParseBool(setting, RequireValue(setting));
                    break;
                case "SIZE":
                    listen.Size = (long)Convert(setting, typeof(long))!;
                    break;
                default:
                    throw new SmtpConfigurationException($"{setting.Path}: not a setting an endpoint can replace (secure, hideSTARTTLS, authOptional, allowInsecureAuth, authMethods, useProxy, useXClient, useXForward, lmtp, size)");
            }
        }

        return listen;
    }

    private static IPEndPoint ParseEndPoint(IConfigurationSection setting, string text)
    {
        try
        {
            return ParseEndPoint(text);
        }
        catch (FormatException ex)
        {
            throw new SmtpConfigurationException($"{setting.Path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Parses <c>HOST:PORT</c>: an IPv4 address, an IPv6 address in brackets (<c>[::1]:25</c>, <c>[::]:25</c> for every
    /// address of both families), <c>*</c> for every IPv4 address, or <c>localhost</c>; the port 0–65535 (0 picks a free port).
    /// </summary>
    /// <param name="text">The endpoint text.</param>
    /// <exception cref="FormatException"><paramref name="text"/> is not such an endpoint.</exception>
    public static IPEndPoint ParseEndPoint(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string value = text.Trim();
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new FormatException($"'{text}' is not HOST:PORT with a port from 0 to 65535");
        }

        string host = value[..colon];
        IPAddress? address = host switch
        {
            "*" => IPAddress.Any,
            _ when host.Equals("localhost", StringComparison.OrdinalIgnoreCase) => IPAddress.Loopback,
            ['[', .. var inner, ']'] when IPAddress.TryParse(inner, out IPAddress? v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => v6,
            _ when !host.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(host, out IPAddress? v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork => v4,
            _ => null,
        };
        return address is null
            ? throw new FormatException($"'{text}' does not start with an IP address (IPv6 in brackets), '*' or 'localhost'")
            : new IPEndPoint(address, port);
    }

    /// <summary>Reads a list setting as Smtpd does: one comma-separated value, or an array (its entries in order); entries are trimmed, empty ones dropped.</summary>
    /// <param name="setting">The setting.</param>
    /// <returns>The entries; empty when the setting is absent.</returns>
    public static IReadOnlyList<string> ReadList(IConfigurationSection setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        IEnumerable<string?> items = setting.Value is { } text
            ? text.Split(',')
            : setting.GetChildren().Select(child => child.Value);
        return items.Select(item => item?.Trim()).Where(item => !string.IsNullOrEmpty(item)).ToList()!;
    }

    private static bool IsBindable(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) || type == typeof(bool) || type == typeof(int) || type == typeof(long)
            || type == typeof(TimeSpan) || type.IsEnum || type == typeof(IList<string>);
    }

    private static object? Convert(IConfigurationSection setting, Type type)
    {
        // A nullable option (maxConnectionsPerClient) takes a value of its type; absent, it keeps its default.
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(IList<string>))
        {
            return ReadList(setting).ToList();
        }

        if (setting.Value is not { } text)
        {
            if (setting.GetChildren().Any())
            {
                throw new SmtpConfigurationException($"{setting.Path}: expected a single value, found a section");
            }

            return !type.IsValueType ? null : throw Invalid(setting, "a value");
        }

        text = text.Trim();
        if (type == typeof(string))
        {
            return setting.Value;
        }

        if (type == typeof(bool))
        {
            return ParseBool(setting, text);
        }

        if (type == typeof(int))
        {
            return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n : throw Invalid(setting, "a whole number");
        }

        if (type == typeof(long))
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) ? n : throw Invalid(setting, "a whole number");
        }

        if (type == typeof(TimeSpan))
        {
            return ParseTime(setting, text);
        }

        // Flags (sslProtocols: "Tls12, Tls13") combine members; other enums take exactly one.
        return Enum.TryParse(type, text, ignoreCase: true, out object? member) && (type.IsDefined(typeof(FlagsAttribute), false) || Enum.IsDefined(type, member!))
            ? member
            : throw Invalid(setting, "one of " + string.Join(", ", Enum.GetNames(type)));
    }

    /// <summary>Milliseconds (the reference's unit), or a .NET time span such as <c>00:00:30</c>.</summary>
    private static TimeSpan ParseTime(IConfigurationSection setting, string text)
    {
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan span) ? span : throw Invalid(setting, "a time in milliseconds or as hh:mm:ss");
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) && double.IsFinite(ms) && Math.Abs(ms) <= TimeSpan.MaxValue.TotalMilliseconds / 2
            ? TimeSpan.FromMilliseconds(ms)
            : throw Invalid(setting, "a time in milliseconds");
    }

    private static bool ParseBool(IConfigurationSection setting, string text)
    {
        if (bool.TryParse(text, out bool flag))
        {
            return flag;
        }

        return text switch
        {
            "1" => true,
            "0" => false,
            _ => throw Invalid(setting, "true or false"),
        };
    }


    private static void BindLogger(IConfigurationSection setting, SmtpServerOptions options)
    {
        if (setting.Value is null)
        {
            throw Invalid(setting, "true or false");
        }

        if (ParseBool(setting, setting.Value.Trim()))
        {
            options.LogToConsole = true;
        }
        else
        {
            options.Logger = NullLogger.Instance;
            options.LoggerFactory = null;
            options.LogToConsole = false;
        }
    }

    /// <summary><c>{ "server.name": { "key": path, "cert": path, "passphrase"?: text } }</c>; the passphrase defaults to the top-level one.</summary>
    private static void BindSniOptions(IConfigurationSection setting, SmtpServerOptions options)
    {
        var certificates = new Dictionary<string, SmtpTlsCertificate>(StringComparer.OrdinalIgnoreCase);
        foreach (IConfigurationSection entry in setting.GetChildren())
        {
            IConfigurationSection cert = entry.GetSection("cert");
            IConfigurationSection key = entry.GetSection("key");
            if (cert.Value is null)
            {
                throw new SmtpConfigurationException($"{entry.Path}: expected {{ \"key\": path, \"cert\": path }}");
            }

            try
            {
                certificates[entry.Key] = SmtpTlsCertificate.FromPem(ReadPemFile(cert, cert.Value), key.Value is null ? null : ReadPemFile(key, key.Value), entry["passphrase"] ?? options.Passphrase);
            }
            catch (ArgumentException ex)
            {
                throw new SmtpConfigurationException($"{entry.Path}: {ex.Message}", ex);
            }
        }

        options.SniOptions = certificates;
    }

    private static string RequireValue(IConfigurationSection setting) =>
        setting.Value is { Length: > 0 } value ? value : throw Invalid(setting, "a value");

    private static string ReadPemFile(IConfigurationSection setting, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new SmtpConfigurationException($"{setting.Path}: cannot read '{path}': {ex.Message}", ex);
        }
    }

    private static SmtpConfigurationException Invalid(IConfigurationSection setting, string expected) =>
        new($"{setting.Path}: '{setting.Value}' is not {expected}");
}
