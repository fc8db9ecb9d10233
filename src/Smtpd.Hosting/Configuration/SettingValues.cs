using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Smtpd.Hosting;

/// <summary>
/// The value forms the standard configuration binder does not read: times in milliseconds, <c>1</c>/<c>0</c> as
/// booleans, lists as one comma-separated value, PEM files by path, trusted peers. Every error names the setting.
/// </summary>
internal static class SettingValues
{
    /// <summary>Milliseconds (the reference's unit), or a .NET time span such as <c>00:00:30</c>.</summary>
    public static TimeSpan ReadTime(IConfigurationSection setting)
    {
        string text = RequireValue(setting).Trim();
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan span) ? span : throw Invalid(setting, "a time in milliseconds or as hh:mm:ss");
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) && double.IsFinite(ms) && Math.Abs(ms) <= TimeSpan.MaxValue.TotalMilliseconds / 2
            ? TimeSpan.FromMilliseconds(ms)
            : throw Invalid(setting, "a time in milliseconds");
    }

    /// <summary><c>true</c>/<c>false</c> in any case, or <c>1</c>/<c>0</c>.</summary>
    public static bool ReadBool(IConfigurationSection setting)
    {
        string text = RequireValue(setting).Trim();
        return TryParseBool(text, out bool flag) ? flag : throw Invalid(setting, "true or false");
    }

    /// <summary><c>true</c>/<c>false</c> in any case, or <c>1</c>/<c>0</c>.</summary>
    public static bool TryParseBool(string text, out bool flag)
    {
        switch (text.Trim())
        {
            case "1":
                flag = true;
                return true;
            case "0":
                flag = false;
                return true;
            case var word:
                return bool.TryParse(word, out flag);
        }
    }

    /// <summary>One comma-separated value, or an array; entries trimmed, empty ones dropped.</summary>
    public static List<string> ReadList(IConfigurationSection setting)
    {
        IEnumerable<string?> items = setting.Value is { } text
            ? text.Split(',')
            : setting.GetChildren().Select(child => child.Value);
        return items.Select(item => item?.Trim()).Where(item => !string.IsNullOrEmpty(item)).ToList()!;
    }

    /// <summary><c>true</c>, <c>false</c>, <c>*</c>, or a list of addresses and CIDR ranges (an array, or one comma/space separated value).
    /// The entries themselves are checked by the SmtpServer constructor (an ArgumentException naming the option).</summary>
    public static TrustedPeers ReadTrustedPeers(IConfigurationSection setting) =>
        setting.GetChildren().Any() ? TrustedPeers.Of(ReadList(setting)) : TrustedPeers.Parse(setting.Value);

    public static string ReadPemFile(IConfigurationSection setting, string path)
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

    public static string RequireValue(IConfigurationSection setting) =>
        setting.Value is { Length: > 0 } value ? value : throw Invalid(setting, "a value");

    /// <summary>What a value of <paramref name="type"/> must look like, for error messages.</summary>
    public static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(bool) ? "true or false"
            : type == typeof(int) || type == typeof(long) ? "a whole number"
            : type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type))
            : "a " + type.Name;
    }

    public static SmtpConfigurationException Invalid(IConfigurationSection setting, string expected) =>
        new($"{setting.Path}: '{setting.Value}' is not {expected}");
}
