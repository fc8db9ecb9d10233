using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Smtpd.Hosting;

/// <summary>
/// The settings of <see cref="SmtpServerOptions"/>, split by who reads them: the standard configuration binder (every
/// public option of a plain type: text, numbers, booleans, enums) or the code here (what the binder cannot do: times
/// in milliseconds, lists that replace the default or come as one comma-separated value, PEM files by path, trusted
/// peers, <c>logger</c>, <c>maxAllowedUnauthenticatedCommands: false</c>). Keys match case-insensitively, so the
/// reference's spellings (<c>hideSTARTTLS</c>) and the .NET ones (<c>HideStartTls</c>) are the same key.
/// </summary>
internal static class ServerOptionSettings
{
    /// <summary>Settings with a reader of their own, whatever the property's type.</summary>
    private static readonly Dictionary<string, Action<IConfigurationSection, SmtpServerOptions>> Special = new(StringComparer.OrdinalIgnoreCase)
    {
        ["logger"] = BindLogger,

        // Paths to PEM files (docs/server.md), where the options hold PEM text.
        ["key"] = (setting, options) => options.Key = SettingValues.ReadPemFile(setting, SettingValues.RequireValue(setting)),
        ["cert"] = (setting, options) => options.Cert = SettingValues.ReadPemFile(setting, SettingValues.RequireValue(setting)),
        ["ca"] = (setting, options) => options.Ca = SettingValues.ReadList(setting).Select(path => SettingValues.ReadPemFile(setting, path)).ToList(),
        ["sniOptions"] = BindSniOptions,

        ["useProxy"] = (setting, options) => options.UseProxy = SettingValues.ReadTrustedPeers(setting),
        ["useXClient"] = (setting, options) => options.UseXClient = SettingValues.ReadTrustedPeers(setting),
        ["useXForward"] = (setting, options) => options.UseXForward = SettingValues.ReadTrustedPeers(setting),

        // The reference's false means its default of 10; a number is the limit (0: no limit).
        ["maxAllowedUnauthenticatedCommands"] = BindUnauthenticatedLimit,
    };

    /// <summary>Options that configuration does not set: <c>logger</c> is the switch for <see cref="SmtpServerOptions.LogToConsole"/>.</summary>
    private static readonly string[] NotSettings = [nameof(SmtpServerOptions.LogToConsole)];

    /// <summary>The settings read by the code here (<see cref="Special"/>, then times and lists found by their property's type).</summary>
    public static IReadOnlyDictionary<string, Action<IConfigurationSection, SmtpServerOptions>> HandRead { get; }

    /// <summary>The settings the standard binder binds, with their property types.</summary>
    public static IReadOnlyDictionary<string, Type> Bound { get; }

    static ServerOptionSettings()
    {
        var handRead = new Dictionary<string, Action<IConfigurationSection, SmtpServerOptions>>(Special, StringComparer.OrdinalIgnoreCase);
        var bound = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase);
        foreach (PropertyInfo property in typeof(SmtpServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            Type type = property.PropertyType;
            if (property.SetMethod is not { IsPublic: true } || Special.ContainsKey(property.Name) || NotSettings.Contains(property.Name))
            {
                continue;
            }

            if (type == typeof(TimeSpan))
            {
                handRead[property.Name] = (setting, options) => property.SetValue(options, SettingValues.ReadTime(setting));
            }
            else if (type == typeof(IList<string>))
            {
                // The binder would add to the default list (authMethods: LOGIN, PLAIN) instead of replacing it.
                handRead[property.Name] = (setting, options) => property.SetValue(options, SettingValues.ReadList(setting));
            }
            else if ((Nullable.GetUnderlyingType(type) ?? type) is var plain
                && (plain == typeof(string) || plain == typeof(bool) || plain == typeof(int) || plain == typeof(long) || plain.IsEnum))
            {
                // A nullable option (maxConnectionsPerClient: null is a computed default) takes a value of its type.
                bound[property.Name] = type;
            }
        }

        HandRead = handRead;
        Bound = bound;
    }

    /// <summary>Is <paramref name="key"/> an option setting (any case)?</summary>
    public static bool Contains(string key) => HandRead.ContainsKey(key) || Bound.ContainsKey(key);

    /// <summary>The known setting closest to a misspelt one (<c>MaxRecipents</c>: <c>maxRecipients</c>), or <see langword="null"/>.</summary>
    public static string? Suggest(string key) =>
        HandRead.Keys.Concat(Bound.Keys).Append(SmtpServerConfiguration.ListenKey)
            .Select(known => (Known: known, Distance: EditDistance(key.ToUpperInvariant(), known.ToUpperInvariant())))
            .Where(c => c.Distance <= Math.Max(1, key.Length / 4))
            .OrderBy(c => c.Distance)
            .Select(c => char.ToLowerInvariant(c.Known[0]) + c.Known[1..])
            .FirstOrDefault();

    private static int EditDistance(string a, string b)
    {
        int[] previous = [.. Enumerable.Range(0, b.Length + 1)];
        for (int i = 1; i <= a.Length; i++)
        {
            int[] current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    private static void BindUnauthenticatedLimit(IConfigurationSection setting, SmtpServerOptions options)
    {
        string value = SettingValues.RequireValue(setting).Trim();
        if (bool.TryParse(value, out bool flag))
        {
            options.MaxAllowedUnauthenticatedCommands = flag
                ? throw new SmtpConfigurationException($"{setting.Path}: 'true' is not a limit; use a number, 0 for no limit, or false for the default of 10")
                : 10;
            return;
        }

        options.MaxAllowedUnauthenticatedCommands = int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int limit)
            ? limit
            : throw new SmtpConfigurationException($"{setting.Path}: '{value}' is not a number of commands (0 for no limit, false for the default of 10)");
    }

    /// <summary>
    /// <c>logger: true</c> adds the console trace (<see cref="SmtpServerOptions.LogToConsole"/>); <c>false</c> does not, and
    /// leaves the logger alone: in a host the server still logs through the host's logger factory, whose levels decide
    /// what shows, so warnings (AUTH failures, refusals for limits) are never silenced by this setting.
    /// </summary>
    private static void BindLogger(IConfigurationSection setting, SmtpServerOptions options) =>
        options.LogToConsole = SettingValues.ReadBool(setting);

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
                certificates[entry.Key] = SmtpTlsCertificate.FromPem(
                    SettingValues.ReadPemFile(cert, cert.Value), key.Value is null ? null : SettingValues.ReadPemFile(key, key.Value), entry["passphrase"] ?? options.Passphrase);
            }
            catch (ArgumentException ex)
            {
                throw new SmtpConfigurationException($"{entry.Path}: {ex.Message}", ex);
            }
        }

        options.SniOptions = certificates;
    }
}
