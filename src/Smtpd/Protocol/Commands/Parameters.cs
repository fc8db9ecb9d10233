namespace Smtpd;

/// <summary>Checks of MAIL and RCPT parameters shared by their command units.</summary>
internal static class Parameters
{
    /// <summary>The first of <paramref name="keys"/> given without a value, or <see langword="null"/>.</summary>
    public static string? FirstValueless(Dictionary<string, string?> args, params ReadOnlySpan<string> keys)
    {
        foreach (string key in keys)
        {
            if (args.TryGetValue(key, out string? value) && value is null)
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>RFC 1870 <c>size-value</c>: 1 to 20 digits.</summary>
    public static bool IsSizeSyntax(string value)
    {
        if (value.Length is 0 or > 20)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>addr-type ";" xtext</c> with an atext address type and at least one character after the semicolon.</summary>
    public static bool IsOrcptSyntax(string value)
    {
        int semicolon = value.IndexOf(';', StringComparison.Ordinal);
        if (semicolon < 1 || semicolon == value.Length - 1)
        {
            return false;
        }

        foreach (char c in value.AsSpan(0, semicolon))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+/=?^_`{|}~-".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }
}
