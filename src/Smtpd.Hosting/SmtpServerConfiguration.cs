using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace Smtpd.Hosting;

/// <summary>
/// Reads <see cref="SmtpServerOptions"/> and the listen endpoints from an <see cref="IConfiguration"/> section whose
/// keys are the option names (<c>size</c>, <c>hideSTARTTLS</c>, <c>socketTimeout</c>, …), in camelCase, PascalCase or
/// the reference's spelling: keys match case-insensitively.
/// </summary>
/// <remarks>
/// <para>Text, numbers, booleans and enums are bound by the standard configuration binder
/// (<c>Microsoft.Extensions.Configuration.Binder</c>; the .NET names and the reference's spellings differ only in case,
/// so no key needs renaming); booleans may also be <c>1</c>/<c>0</c>. What
/// it cannot read is read here: every time (<c>socketTimeout</c>, <c>closeTimeout</c>, <c>greetingDelay</c>,
/// <c>reverseLookupTimeout</c>) in milliseconds as in the reference, or as a .NET time span (<c>00:00:30</c>); lists
/// as an array or as one comma-separated value, replacing the default list; <c>key</c>, <c>cert</c> and <c>ca</c> as
/// paths of PEM files; <c>sniOptions</c>; <c>useProxy</c>, <c>useXClient</c>, <c>useXForward</c> as <c>true</c>,
/// <c>false</c> or a list of addresses and ranges.</para>
/// <para><c>logger</c>: <c>true</c> sets <see cref="SmtpServerOptions.LogToConsole"/> (a console trace for a server
/// without a logger of its own); <c>false</c> silences nothing. In a host, which gives the server its logger factory,
/// the host's levels decide what shows. <c>listen</c>: <c>"HOST:PORT"</c> or a list of endpoints, each with settings of
/// its own, see <see cref="ReadListenOptions"/>.</para>
/// <para>The section belongs to Smtpd: a key that is not a setting, or a value that cannot be used, throws
/// <see cref="SmtpConfigurationException"/> naming the key.</para>
/// </remarks>
public static class SmtpServerConfiguration
{
    /// <summary>The key of the listen endpoints.</summary>
    public const string ListenKey = "listen";

    /// <summary>Is <paramref name="key"/> a setting that <see cref="Bind"/> or <see cref="ReadListenOptions"/> reads?</summary>
    /// <param name="key">A configuration key, any case.</param>
    public static bool IsSetting(string key) =>
        string.Equals(key, ListenKey, StringComparison.OrdinalIgnoreCase) || ServerOptionSettings.Contains(key);

    /// <summary>Sets every option present in <paramref name="configuration"/> on <paramref name="options"/>; absent ones keep their values.</summary>
    /// <param name="configuration">The section holding the settings (and nothing else: <c>listen</c> is read by <see cref="ReadListenOptions"/>).</param>
    /// <param name="options">The options to change.</param>
    /// <exception cref="SmtpConfigurationException">A key is not a setting, or a value cannot be used.</exception>
    public static void Bind(IConfiguration configuration, SmtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        IConfigurationSection[] settings = [.. configuration.GetChildren()];
        foreach (IConfigurationSection setting in settings)
        {
            if (!IsSetting(setting.Key))
            {
                string? suggestion = ServerOptionSettings.Suggest(setting.Key);
                throw new SmtpConfigurationException($"{setting.Path}: unknown setting" + (suggestion is null ? "" : $" (did you mean {suggestion}?)"));
            }
        }

        var view = new BinderView(configuration, ServerOptionSettings.Bound);
        view.Run(() => view.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true));

        // After the plain values, which they may use (sniOptions takes the passphrase).
        foreach (IConfigurationSection setting in settings)
        {
            if (ServerOptionSettings.HandRead.TryGetValue(setting.Key, out Action<IConfigurationSection, SmtpServerOptions>? bind))
            {
                bind(setting, options);
            }
        }
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
        return ListenSettings.Read(configuration.GetSection(ListenKey));
    }

    /// <summary>The addresses of <see cref="ReadListenOptions"/> (without their per-endpoint settings).</summary>
    /// <param name="configuration">The section holding the settings.</param>
    /// <exception cref="SmtpConfigurationException">An entry is not a valid endpoint.</exception>
    public static IReadOnlyList<EndPoint> ReadEndPoints(IConfiguration configuration) =>
        ReadListenOptions(configuration).Select(listen => listen.EndPoint).ToList();

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
        return SettingValues.ReadList(setting);
    }
}
