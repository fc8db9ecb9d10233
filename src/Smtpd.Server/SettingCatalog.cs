using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Smtpd.Hosting;

namespace Smtpd.Server;

/// <summary>One setting the program accepts, as <c>--help</c> lists it.</summary>
/// <param name="Name">The key (camelCase; keys match case-insensitively).</param>
/// <param name="Value">The value's form: <c>BOOL</c>, <c>N</c>, <c>MS</c>, <c>TEXT</c>, <c>LIST</c>, …</param>
/// <param name="Default">The default, as text.</param>
/// <param name="Description">One sentence.</param>
internal sealed record SettingDescription(string Name, string Value, string Default, string Description)
{
    /// <summary>A boolean setting: a switch without a value (<c>--lmtp</c>) means <c>true</c>.</summary>
    public bool IsFlag => Value == "BOOL";
}

/// <summary>
/// Every setting the program knows: its own (<see cref="ServerSettings.ProgramSettings"/>), then every library option the
/// configuration binder accepts (<see cref="SmtpServerConfiguration.IsSetting"/>), found by reflection on
/// <see cref="SmtpServerOptions"/> with the type and the program's default (a new options object with
/// <see cref="Program.ApplyProgramDefaults"/>) and the first sentence of its
/// XML documentation (<c>Smtpd.xml</c>, shipped beside the program). Nothing here is a hand-kept list of options.
/// </summary>
internal static partial class SettingCatalog
{
    private static readonly Lazy<IReadOnlyList<SettingDescription>> Settings = new(Build);

    /// <summary>The program's settings, then the library options in alphabetical order.</summary>
    public static IReadOnlyList<SettingDescription> All => Settings.Value;

    /// <summary>The setting named <paramref name="key"/> (any case), or <see langword="null"/>.</summary>
    /// <param name="key">A key, possibly nested (<c>users:alice</c> is <c>users</c>).</param>
    public static SettingDescription? Find(string key)
    {
        string top = key.Split(':', 2)[0];
        return All.FirstOrDefault(s => string.Equals(s.Name, top, StringComparison.OrdinalIgnoreCase));
    }

    private static List<SettingDescription> Build()
    {
        var settings = new List<SettingDescription>(ServerSettings.ProgramSettings);
        Dictionary<string, string> docs = ReadDocumentation(typeof(SmtpServerOptions).Assembly);
        var defaults = new SmtpServerOptions();
        Program.ApplyProgramDefaults(defaults);
        foreach (PropertyInfo property in typeof(SmtpServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase))
        {
            string name = char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
            if (!SmtpServerConfiguration.IsSetting(name) || settings.Any(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            // The logger setting is the LogToConsole switch (the Logger property takes an ILogger object).
            PropertyInfo shown = name == "logger" ? typeof(SmtpServerOptions).GetProperty(nameof(SmtpServerOptions.LogToConsole))! : property;
            docs.TryGetValue("P:" + shown.DeclaringType!.FullName + "." + shown.Name, out string? description);
            (string value, string defaultText) = Describe(name, shown.PropertyType, shown.GetValue(defaults));
            settings.Add(new SettingDescription(name, value, defaultText, description ?? ""));
        }

        return settings;
    }

    private static (string Value, string Default) Describe(string name, Type type, object? value) => value switch
    {
        _ when name is "key" or "cert" => ("PEM-FILE", "none: a self-signed certificate is generated"),
        _ when name is "ca" => ("PEM-FILE,...", "none"),
        _ when name is "sniOptions" => ("{NAME:{key,cert}}", "none"),
        bool flag => ("BOOL", flag ? "true" : "false"),
        TimeSpan time => ("MS", time.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)),
        int or long => ("N", Convert.ToString(value, CultureInfo.InvariantCulture)!),
        string text => ("TEXT", text.Length == 0 ? "\"\"" : text),
        IEnumerable list and not string => ("LIST", list.Cast<object>().Any() ? string.Join(",", list.Cast<object>()) : "none"),
        TrustedPeers peers => ("true|false|ADDRESS/CIDR,...", peers.ToString()),
        Enum member => (string.Join("|", Enum.GetNames(type)), member.ToString()),
        null => (type == typeof(string) ? "TEXT" : type.Name.ToUpperInvariant(), "none"),
        _ => (type.Name.ToUpperInvariant(), value.ToString() ?? ""),
    };

    /// <summary>The first sentence of each member's summary in the assembly's XML documentation file, when it is there.</summary>
    private static Dictionary<string, string> ReadDocumentation(Assembly assembly)
    {
        string path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path))
        {
            return [];
        }

        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Element("summary") is not null)
            .ToDictionary(m => (string)m.Attribute("name")!, m => FirstSentence(m.Element("summary")!));
    }

    private static string FirstSentence(XElement summary)
    {
        string text = string.Concat(summary.Nodes().Select(node => node switch
        {
            XText t => t.Value,
            XElement { Name.LocalName: "see" } see => (string?)see.Attribute("langword") ?? CrefText((string?)see.Attribute("cref")) ?? see.Value,
            XElement e => e.Value,
            _ => "",
        }));
        text = Whitespace().Replace(text, " ").Trim();
        int end = SentenceEnd().Match(text) is { Success: true } match ? match.Index + 1 : text.Length;
        return text[..end];
    }

    /// <summary><c>P:Smtpd.SmtpServerOptions.Size</c> is the setting <c>size</c>; other members are <c>Type.Member</c>, types their name.</summary>
    private static string? CrefText(string? cref)
    {
        if (cref is null)
        {
            return null;
        }

        string[] parts = cref.Split('(')[0][2..].Split('.');
        return cref[0] == 'T' || parts.Length < 2 ? parts[^1]
            : parts[^2] == nameof(SmtpServerOptions) ? char.ToLowerInvariant(parts[^1][0]) + parts[^1][1..]
            : parts[^2] + "." + parts[^1];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"(?<!\be\.g|\bi\.e)\.(\s|$)")]
    private static partial Regex SentenceEnd();
}
