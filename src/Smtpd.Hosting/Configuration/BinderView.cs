using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Smtpd.Hosting;

/// <summary>
/// What the standard configuration binder sees of a section: only the settings it binds (<paramref name="bound"/>, by
/// key, with the property's type), booleans written <c>1</c>/<c>0</c> as <c>true</c>/<c>false</c>. The settings read by
/// hand (times in milliseconds, lists, PEM paths, ...) are hidden from it. It remembers the last setting the binder
/// read, so a value it cannot convert is reported as <c>path: 'value' is not ...</c>.
/// </summary>
/// <param name="settings">The section.</param>
/// <param name="bound">The keys the binder binds (case-insensitive) and their property types.</param>
internal sealed class BinderView(IConfiguration settings, IReadOnlyDictionary<string, Type> bound) : IConfiguration
{
    /// <summary>The settings present, by key in any case: the binder asks for the property's name, errors name the key as written.</summary>
    private readonly Dictionary<string, IConfigurationSection> _present = settings.GetChildren()
        .DistinctBy(child => child.Key, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(child => child.Key, StringComparer.OrdinalIgnoreCase);

    /// <summary>The last setting the binder read, and its property type.</summary>
    public (IConfigurationSection Setting, Type Type)? LastRead { get; private set; }

    /// <inheritdoc/>
    public string? this[string key]
    {
        get => GetSection(key).Value;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public IConfigurationSection GetSection(string key)
    {
        IConfigurationSection setting = _present.GetValueOrDefault(key) ?? settings.GetSection(key);
        if (!bound.TryGetValue(key, out Type? type))
        {
            return new Setting(setting, hidden: true, boolean: false);
        }

        LastRead = (setting, type);
        return new Setting(setting, hidden: false, boolean: (Nullable.GetUnderlyingType(type) ?? type) == typeof(bool));
    }

    /// <inheritdoc/>
    public IEnumerable<IConfigurationSection> GetChildren() =>
        settings.GetChildren().Where(child => bound.ContainsKey(child.Key)).Select(child => GetSection(child.Key)).ToList();

    /// <inheritdoc/>
    public IChangeToken GetReloadToken() => settings.GetReloadToken();

    /// <summary>Binds with <paramref name="bind"/> (a call of the standard binder on this view); its errors become <see cref="SmtpConfigurationException"/>s naming the setting.</summary>
    /// <param name="bind">Binds this view.</param>
    /// <exception cref="SmtpConfigurationException">A value cannot be converted or is refused by the option.</exception>
    public void Run(Action bind)
    {
        try
        {
            bind();
        }
        catch (InvalidOperationException ex) when (LastRead is ({ } setting, { } type))
        {
            throw new SmtpConfigurationException($"{setting.Path}: '{setting.Value}' is not {SettingValues.Expected(type)}", ex);
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is ArgumentException refused && LastRead is ({ } setting, _))
        {
            // A setter that checks its value (maxAuthFailures: -1).
            throw new SmtpConfigurationException($"{setting.Path}: {refused.Message.ReplaceLineEndings(" ")}", refused);
        }
        catch (InvalidOperationException ex)
        {
            throw new SmtpConfigurationException((settings as IConfigurationSection)?.Path is { Length: > 0 } path ? $"{path}: {ex.Message}" : ex.Message, ex);
        }
    }

    /// <summary>A setting as the binder sees it: absent when hidden, <c>1</c>/<c>0</c> read as <c>true</c>/<c>false</c> for a boolean.</summary>
    private sealed class Setting(IConfigurationSection setting, bool hidden, bool boolean) : IConfigurationSection
    {
        public string Key => setting.Key;

        public string Path => setting.Path;

        public string? Value
        {
            get => hidden ? null
                : boolean && setting.Value is { } text && SettingValues.TryParseBool(text, out bool flag) ? (flag ? "true" : "false")
                : setting.Value;
            set => throw new NotSupportedException();
        }

        public string? this[string key]
        {
            get => hidden ? null : setting[key];
            set => throw new NotSupportedException();
        }

        public IConfigurationSection GetSection(string key) => hidden ? new Setting(setting.GetSection(key), hidden: true, boolean: false) : setting.GetSection(key);

        public IEnumerable<IConfigurationSection> GetChildren() => hidden ? [] : setting.GetChildren();

        public IChangeToken GetReloadToken() => setting.GetReloadToken();
    }
}
