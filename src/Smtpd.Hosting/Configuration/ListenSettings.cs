using System.Net;
using Microsoft.Extensions.Configuration;

namespace Smtpd.Hosting;

/// <summary>
/// The <c>listen</c> setting: one <c>"HOST:PORT"</c> (or several, comma-separated), or a list whose entries are
/// <c>"HOST:PORT"</c> or an object <c>{ "address": "HOST:PORT", ... }</c> with settings of that endpoint only.
/// </summary>
internal static class ListenSettings
{
    /// <summary>The key of an endpoint's address inside a <c>listen</c> object.</summary>
    private const string AddressKey = "address";

    /// <summary>The keys a <c>listen</c> object may hold, as the error message lists them.</summary>
    private static readonly string[] Keys = [AddressKey, "secure", "hideSTARTTLS", "authOptional", "allowInsecureAuth", "authMethods", "useProxy", "useXClient", "useXForward", "lmtp", "size"];

    /// <summary>What the standard binder binds on <see cref="SmtpListenOptions"/>; the other keys are read here.</summary>
    private static readonly Dictionary<string, Type> Bound = new(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(SmtpListenOptions.HideStartTls)] = typeof(bool?),
        [nameof(SmtpListenOptions.AuthOptional)] = typeof(bool?),
        [nameof(SmtpListenOptions.AllowInsecureAuth)] = typeof(bool?),
        [nameof(SmtpListenOptions.Lmtp)] = typeof(bool?),
        [nameof(SmtpListenOptions.Size)] = typeof(long?),
    };

    public static List<SmtpListenOptions> Read(IConfigurationSection listen)
    {
        if (listen.Value is not null)
        {
            return SettingValues.ReadList(listen).Select(entry => new SmtpListenOptions(ParseEndPoint(listen, entry))).ToList();
        }

        IConfigurationSection[] entries = listen.GetSection(AddressKey).Value is not null ? [listen] : [.. listen.GetChildren()];
        var endpoints = new List<SmtpListenOptions>(entries.Length);
        foreach (IConfigurationSection entry in entries)
        {
            endpoints.Add(entry.Value is { } text ? new SmtpListenOptions(ParseEndPoint(entry, text)) : ReadObject(entry));
        }

        return endpoints;
    }

    public static IPEndPoint ParseEndPoint(IConfigurationSection setting, string text)
    {
        try
        {
            return SmtpServerConfiguration.ParseEndPoint(text);
        }
        catch (FormatException ex)
        {
            throw new SmtpConfigurationException($"{setting.Path}: {ex.Message}", ex);
        }
    }

    /// <summary><c>{ "address": "HOST:PORT", "secure": true, ... }</c>: an endpoint and the settings it replaces.</summary>
    private static SmtpListenOptions ReadObject(IConfigurationSection entry)
    {
        foreach (IConfigurationSection setting in entry.GetChildren())
        {
            if (!Keys.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new SmtpConfigurationException($"{setting.Path}: not a setting an endpoint can replace ({string.Join(", ", Keys.Skip(1))})");
            }
        }

        IConfigurationSection address = entry.GetSection(AddressKey);
        var listen = new SmtpListenOptions(ParseEndPoint(address, address.Value ?? throw SettingValues.Invalid(address, "an endpoint \"HOST:PORT\"")));
        var view = new BinderView(entry, Bound);
        view.Run(() => view.Bind(listen, binder => binder.ErrorOnUnknownConfiguration = true));
        foreach (IConfigurationSection setting in entry.GetChildren())
        {
            switch (setting.Key.ToUpperInvariant())
            {
                case "SECURE":
                    listen.TlsMode = SettingValues.ReadBool(setting) ? SmtpTlsMode.Implicit : SmtpTlsMode.StartTls;
                    break;
                case "AUTHMETHODS":
                    listen.AuthMethods = SettingValues.ReadList(setting);
                    break;
                case "USEPROXY":
                    listen.UseProxy = SettingValues.ReadTrustedPeers(setting);
                    break;
                case "USEXCLIENT":
                    listen.UseXClient = SettingValues.ReadTrustedPeers(setting);
                    break;
                case "USEXFORWARD":
                    listen.UseXForward = SettingValues.ReadTrustedPeers(setting);
                    break;
            }
        }

        return listen;
    }
}
