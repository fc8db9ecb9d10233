using System.Buffers;
using System.Globalization;
using System.Text;

namespace Smtpd;

/// <summary>Why a MAIL FROM / RCPT TO line was refused by the parser.</summary>
internal enum AddressParseError
{
    None,
    Syntax,
    DuplicateParameter,
}

/// <summary>
/// Parses <c>MAIL FROM:&lt;path&gt; params</c> and <c>RCPT TO:&lt;path&gt; params</c> as the reference does (§8):
/// shape, source routes, parameters with xtext, and address validation (strict or lenient).
/// </summary>
internal static class AddressParser
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = true };

    /// <summary>Parses the line of a MAIL (<paramref name="isMail"/>) or RCPT command.</summary>
    /// <param name="line">The whole command line, UTF-8, without its line ending.</param>
    /// <param name="isMail">MAIL FROM (true) or RCPT TO (false).</param>
    /// <param name="lenient">The reference's <c>lenientAddressParsing</c>.</param>
    /// <param name="address">The parsed address (empty for the null sender).</param>
    /// <param name="args">The parameters, or <see langword="null"/> when there were none.</param>
    /// <param name="duplicateKey">With <see cref="AddressParseError.DuplicateParameter"/>: the repeated key.</param>
    public static AddressParseError Parse(ReadOnlySpan<byte> line, bool isMail, bool lenient, out string address, out Dictionary<string, string?>? args, out string? duplicateKey)
    {
        address = "";
        args = null;
        duplicateKey = null;
        int colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            return AddressParseError.Syntax;
        }

        ReadOnlySpan<byte> name = TrimAscii(line[..colon]);
        if (!Ascii.EqualsIgnoreCase(name, isMail ? "MAIL FROM"u8 : "RCPT TO"u8))
        {
            return AddressParseError.Syntax;
        }

        // Decode into a stack or pooled buffer: the only strings made are the address and the parameters.
        ReadOnlySpan<byte> restBytes = line[(colon + 1)..];
        if (!System.Text.Unicode.Utf8.IsValid(restBytes))
        {
            return AddressParseError.Syntax;
        }

        char[]? rented = null;
        Span<char> chars = restBytes.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(restBytes.Length));
        try
        {
            int count = Encoding.UTF8.GetChars(restBytes, chars);
            return ParseRest(chars[..count], isMail, lenient, out address, out args, out duplicateKey);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static AddressParseError ParseRest(ReadOnlySpan<char> rest, bool isMail, bool lenient, out string address, out Dictionary<string, string?>? args, out string? duplicateKey)
    {
        address = "";
        args = null;
        duplicateKey = null;
        ReadOnlySpan<char> remaining = rest.Trim(" \t");
        if (remaining.IsEmpty)
        {
            return AddressParseError.Syntax;
        }

        int pathEnd = remaining.IndexOfAny(' ', '\t');
        ReadOnlySpan<char> path = pathEnd < 0 ? remaining : remaining[..pathEnd];
        ReadOnlySpan<char> parameters = pathEnd < 0 ? default : remaining[pathEnd..];

        if (path.Length < 2 || path[0] != '<' || path[^1] != '>')
        {
            return AddressParseError.Syntax;
        }

        path = path[1..^1];
        if (path.IndexOfAny('<', '>') >= 0)
        {
            return AddressParseError.Syntax;
        }

        AddressParseError paramError = ParseParameters(parameters, ref args, out duplicateKey);
        if (paramError == AddressParseError.Syntax)
        {
            return paramError;
        }

        string? validated = ValidateAddress(path, isMail, lenient);
        if (validated is null)
        {
            return AddressParseError.Syntax;
        }

        address = validated;
        return paramError;
    }

    private static ReadOnlySpan<byte> TrimAscii(ReadOnlySpan<byte> value)
    {
        int start = 0;
        int end = value.Length;
        while (start < end && value[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        while (end > start && value[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }

        return value[start..end];
    }

    private static AddressParseError ParseParameters(ReadOnlySpan<char> parameters, ref Dictionary<string, string?>? args, out string? duplicateKey)
    {
        duplicateKey = null;
        while (!parameters.IsEmpty)
        {
            parameters = parameters.TrimStart(" \t");
            if (parameters.IsEmpty)
            {
                break;
            }

            int end = parameters.IndexOfAny(' ', '\t');
            ReadOnlySpan<char> token = end < 0 ? parameters : parameters[..end];
            parameters = end < 0 ? default : parameters[end..];

            int eq = token.IndexOf('=');
            ReadOnlySpan<char> keySpan = eq < 0 ? token : token[..eq];
            if (keySpan.IsEmpty)
            {
                continue;
            }

            string key = KnownKey(keySpan) ?? keySpan.ToString().ToUpperInvariant();
            string? value = null;
            if (eq >= 0 && eq < token.Length - 1)
            {
                string raw = token[(eq + 1)..].ToString();
                value = XText.Decode(raw);
                if (XText.HasControl(value))
                {
                    return AddressParseError.Syntax;
                }
            }

            if (XText.HasControl(keySpan))
            {
                return AddressParseError.Syntax;
            }

            args ??= new Dictionary<string, string?>(StringComparer.Ordinal);
            if (args.ContainsKey(key))
            {
                duplicateKey ??= key;
            }

            args[key] = value;
        }

        return duplicateKey is null ? AddressParseError.None : AddressParseError.DuplicateParameter;
    }

    private static readonly string[] KnownKeys = ["SIZE", "BODY", "SMTPUTF8", "REQUIRETLS", "RET", "ENVID", "NOTIFY", "ORCPT", "AUTH"];

    /// <summary>The well-known parameter names as shared strings, so parsing them allocates nothing.</summary>
    private static string? KnownKey(ReadOnlySpan<char> key)
    {
        foreach (string known in KnownKeys)
        {
            if (key.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        return null;
    }

    /// <summary>Validates and normalises a path (without brackets). Returns <see langword="null"/> when invalid.</summary>
    internal static string? ValidateAddress(ReadOnlySpan<char> path, bool isMail, bool lenient)
    {
        if (HasForbiddenCharacter(path))
        {
            return null;
        }

        if (path.IsEmpty)
        {
            return isMail ? "" : null;
        }

        // An RFC 5321 source route "@a,@b:" is dropped.
        if (path[0] == '@')
        {
            int routeEnd = path.IndexOf(':');
            if (routeEnd < 0)
            {
                return null;
            }

            if (!lenient && !IsSourceRoute(path[..routeEnd]))
            {
                return null;
            }

            path = path[(routeEnd + 1)..];
            if (path.IsEmpty)
            {
                return null;
            }
        }

        int at = path.IndexOf('@');
        if (at < 0)
        {
            return !isMail && path.Equals("postmaster", StringComparison.OrdinalIgnoreCase) ? path.ToString() : null;
        }

        if (path[(at + 1)..].Contains('@'))
        {
            return null;
        }

        ReadOnlySpan<char> local = path[..at];
        ReadOnlySpan<char> domain = path[(at + 1)..];
        if (local.IsEmpty || domain.IsEmpty)
        {
            return null;
        }

        if (lenient)
        {
            string lenientDomain = domain.ToString();
            return local.ToString() + "@" + (DecodeIdn(lenientDomain) ?? lenientDomain);
        }

        if (local.Length + 1 + domain.Length > 253 || local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return null;
        }

        if (!TryValidateDomain(domain, out string? normalizedDomain))
        {
            return null;
        }

        return normalizedDomain is null ? path.ToString() : string.Concat(local, "@", normalizedDomain);
    }

    private static bool IsSourceRoute(ReadOnlySpan<char> route)
    {
        foreach (Range part in route.Split(','))
        {
            ReadOnlySpan<char> hop = route[part];
            if (hop.Length < 2 || hop[0] != '@' || hop[1..].IndexOfAny(" \t@") >= 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Checks a domain. <paramref name="normalized"/> is the rewritten domain when it must change (IPv6 literal made
    /// canonical, IDNA labels decoded), <see langword="null"/> when it stays as it is.
    /// </summary>
    private static bool TryValidateDomain(ReadOnlySpan<char> domain, out string? normalized)
    {
        normalized = null;
        if (domain[0] == '[')
        {
            if (domain[^1] != ']')
            {
                return false;
            }

            ReadOnlySpan<char> literal = domain[1..^1];
            if (literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            {
                string? canonical = IpText.CanonicalIPv6(literal[5..]);
                normalized = canonical is null ? null : "[IPv6:" + canonical + "]";
                return canonical is not null;
            }

            return IpText.IsStrictIPv4(literal);
        }

        foreach (char c in domain)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '.' || c == '-' || c >= '\u0080'))
            {
                return false;
            }
        }

        if (domain[0] == '.' || domain[^1] == '.' || domain.Contains("..", StringComparison.Ordinal)
            || domain.Contains(".-", StringComparison.Ordinal) || domain.Contains("-.", StringComparison.Ordinal))
        {
            return false;
        }

        if (!domain.Contains("xn--", StringComparison.Ordinal))
        {
            return true;
        }

        normalized = DecodeIdn(domain.ToString());
        return normalized is not null;
    }

    /// <summary>Converts <c>xn--</c> labels to Unicode; <see langword="null"/> when a conversion fails.</summary>
    internal static string? DecodeIdn(string domain)
    {
        if (!domain.Contains("xn--", StringComparison.Ordinal))
        {
            return domain;
        }

        string[] labels = domain.Split('.');
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i].StartsWith("xn--", StringComparison.Ordinal))
            {
                try
                {
                    labels[i] = Idn.GetUnicode(labels[i]);
                }
                catch (ArgumentException)
                {
                    return null;
                }
            }
        }

        return string.Join('.', labels);
    }

    private static bool HasForbiddenCharacter(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '\u200B' || c == '\u2060' || c == '\uFEFF')
            {
                return true;
            }
        }

        return false;
    }
}
