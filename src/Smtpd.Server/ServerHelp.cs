using System.Globalization;
using System.Reflection;
using System.Text;

namespace Smtpd.Server;

/// <summary>The text of <c>--help</c> (generated from <see cref="SettingCatalog"/>) and <c>--version</c>.</summary>
internal static class ServerHelp
{
    /// <summary>The command name of the .NET tool.</summary>
    public const string CommandName = "smtpd";

    /// <summary>The informational version (<c>0.1.0+commit</c> when built from a clone).</summary>
    public static string Version =>
        typeof(ServerHelp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ServerHelp).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>Usage, the sources of settings, then every setting with its value form, default and description.</summary>
    public static string Text()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"""
            {CommandName} {Version}: receives mail over SMTP (or LMTP) and stores each message as <id>.eml and <id>.json.

            Usage: {CommandName} [--config FILE.json] [--SETTING VALUE]...
                   {CommandName} --help | --version

            Settings come from the JSON file, then SMTPD_<SETTING> environment variables (nested keys with __), then
            --SETTING VALUE or --SETTING=VALUE switches; the later wins, keys match in any case. A boolean switch alone
            means true (--lmtp). Times (MS) are milliseconds; lists are JSON arrays or one comma-separated value.
            The Logging section sets log levels and the console format (--Logging:Console:FormatterName json).

            Exit status: 0 after a graceful stop (SIGTERM, SIGINT), 2 for a setting that cannot be used.

            """);
        IReadOnlyList<SettingDescription> settings = SettingCatalog.All;
        int width = settings.Max(s => s.Name.Length + s.Value.Length) + 4;
        string? section = null;
        foreach (SettingDescription setting in settings)
        {
            string heading = ServerSettings.ProgramSettings.Contains(setting) ? "Settings of the program:" : "Options of the server (SmtpServerOptions):";
            if (heading != section)
            {
                text.Append('\n').Append(heading).Append('\n');
                section = heading;
            }

            string usage = $"--{setting.Name} {setting.Value}";
            text.Append("  ").Append(usage.PadRight(width)).Append(setting.Description);
            text.Append(" [default: ").Append(setting.Default).Append("]\n");
        }

        return text.ToString();
    }
}
