namespace Smtpd;

/// <summary>
/// Which peers a proxy feature (<see cref="SmtpServerOptions.UseProxy"/>, <see cref="SmtpServerOptions.UseXClient"/>,
/// <see cref="SmtpServerOptions.UseXForward"/>) applies to: nobody (the default), every peer, or a list of IP addresses
/// and CIDR ranges. This is the reference's <c>true</c> / <c>['10.0.0.1', …]</c> option form; immutable.
/// </summary>
/// <example>
/// <code>
/// options.UseProxy = true;                                        // every peer
/// options.UseXClient = TrustedPeers.Of("10.0.0.0/8", "2001:db8::/32"); // only these
/// options.UseXForward = new[] { "192.0.2.25" };                   // string[] converts too
/// </code>
/// </example>
public sealed class TrustedPeers
{
    private readonly string[] _entries;

    private TrustedPeers(bool isAll, string[] entries)
    {
        IsAll = isAll;
        _entries = entries;
    }

    /// <summary>Nobody: the feature is off.</summary>
    public static TrustedPeers None { get; } = new(false, []);

    /// <summary>Every peer (the reference's <c>true</c>).</summary>
    public static TrustedPeers All { get; } = new(true, []);

    /// <summary><see langword="true"/> for <see cref="All"/> or a list containing <c>*</c>.</summary>
    public bool IsAll { get; }

    /// <summary><see langword="true"/> unless this is <see cref="None"/> (or an empty list).</summary>
    public bool IsEnabled => IsAll || _entries.Length > 0;

    /// <summary>The listed addresses and ranges as given (empty for <see cref="All"/> and <see cref="None"/>).</summary>
    public IReadOnlyList<string> Entries => _entries;

    /// <summary>
    /// The listed peers: IP addresses (<c>192.0.2.10</c>, <c>2001:db8::1</c>, <c>::ffff:192.0.2.10</c>), CIDR ranges
    /// (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) and <c>*</c> for every peer. Entries are checked when the server is
    /// constructed; a bad one makes the constructor throw <see cref="ArgumentException"/>.
    /// </summary>
    /// <param name="entries">The addresses and ranges.</param>
    public static TrustedPeers Of(params IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        string[] list = [.. entries];
        if (list.Length == 0)
        {
            return None;
        }

        return new TrustedPeers(Array.Exists(list, e => e?.Trim() == "*"), list);
    }

    /// <summary><see langword="true"/> is <see cref="All"/>, <see langword="false"/> is <see cref="None"/>.</summary>
    /// <param name="all">Whether every peer is trusted.</param>
    public static TrustedPeers FromBoolean(bool all) => all ? All : None;

    /// <summary>
    /// Reads the text form used in configuration values (environment variables, command lines): <c>true</c> or
    /// <c>*</c> for every peer, <c>false</c> or nothing for nobody, otherwise a list of addresses and ranges separated
    /// by commas or whitespace (<c>10.0.0.0/8, 192.0.2.1</c>). The entries are checked when the server is constructed.
    /// </summary>
    /// <param name="text">The configuration value.</param>
    public static TrustedPeers Parse(string? text)
    {
        string value = text?.Trim() ?? "";
        if (value.Length == 0 || string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
        {
            return None;
        }

        if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
        {
            return All;
        }

        return Of(value.Split([',', ' ', '\t', ';'], StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>The same as <see cref="Of(IEnumerable{string})"/>.</summary>
    /// <param name="entries">The addresses and ranges.</param>
    public static TrustedPeers FromStringArray(string[] entries) => Of(entries);

    /// <summary><see langword="true"/> is <see cref="All"/>, <see langword="false"/> is <see cref="None"/>.</summary>
    /// <param name="all">Whether every peer is trusted.</param>
    public static implicit operator TrustedPeers(bool all) => FromBoolean(all);

    /// <summary>The listed addresses and ranges, as <see cref="Of(IEnumerable{string})"/>.</summary>
    /// <param name="entries">The addresses and ranges.</param>
    public static implicit operator TrustedPeers(string[] entries) => Of(entries);

    /// <inheritdoc/>
    public override string ToString() => IsAll && _entries.Length == 0 ? "*" : _entries.Length == 0 ? "none" : string.Join(", ", _entries);

    /// <summary>Parses the entries once, for the server (throws <see cref="ArgumentException"/> naming <paramref name="optionName"/>).</summary>
    internal AddressMatcher Compile(string optionName) =>
        _entries.Length == 0 ? (IsAll ? AddressMatcher.Everybody : AddressMatcher.Nobody) : AddressMatcher.Parse(_entries, optionName, allowWildcard: true);
}
