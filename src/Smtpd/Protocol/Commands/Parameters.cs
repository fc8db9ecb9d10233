using System.Text;

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

    /// <summary>
    /// The first parameter the connection does not support (RFC 5321 §4.1.1.11: <c>555</c>), as it is named in the
    /// reply, or <see langword="null"/>. Supported: the parameters of the extensions advertised on the connection
    /// (SIZE, BODY, SMTPUTF8 and REQUIRETLS always, as their <c>Hide…</c> options only hide the keyword; RET, ENVID,
    /// NOTIFY, ORCPT with DSN; AUTH with AUTH; <c>BODY=BINARYMIME</c> with BINARYMIME) and those the application lists
    /// (<see cref="SmtpServerOptions.AdditionalMailParameters"/>, <see cref="SmtpServerOptions.AdditionalRcptParameters"/>).
    /// </summary>
    public static string? FirstUnsupported(SmtpProtocol protocol, Dictionary<string, string?> args, bool isMail)
    {
        IList<string> additional = isMail ? protocol.Options.AdditionalMailParameters : protocol.Options.AdditionalRcptParameters;
        foreach (KeyValuePair<string, string?> arg in args)
        {
            if (IsListed(additional, arg.Key))
            {
                continue;
            }

            bool dsn = protocol.Session.DsnEnabled;
            bool supported = isMail
                ? arg.Key switch
                {
                    "SIZE" or "SMTPUTF8" or "REQUIRETLS" => true,
                    "BODY" => protocol.IsChunkingEnabled || !string.Equals(arg.Value, "BINARYMIME", StringComparison.OrdinalIgnoreCase),
                    "RET" or "ENVID" => dsn,
                    "AUTH" => protocol.IsAuthEnabled,
                    _ => false,
                }
                : arg.Key is "NOTIFY" or "ORCPT" && dsn;
            if (!supported)
            {
                return arg.Key == "BODY" ? "BODY=BINARYMIME" : arg.Key;
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

    /// <summary>
    /// Is the value of parameter <paramref name="key"/> in the command <paramref name="line"/>, as the client sent it
    /// (before decoding), RFC 3461 xtext? For <c>ORCPT</c> the part after the address type's <c>;</c> is checked.
    /// </summary>
    /// <remarks>
    /// xtext is printable ASCII without <c>+</c> and <c>=</c>, which appear only as <c>+XX</c> escapes with upper-case
    /// hexadecimal digits. Bytes above 0x7F pass: RFC 6533 allows UTF-8 there with SMTPUTF8 (the parser has already
    /// checked that the line is UTF-8). The parser decodes leniently, as the reference does; ENVID and ORCPT are the
    /// parameters whose value RFC 3461 defines as xtext, so they are held to it.
    /// </remarks>
    public static bool IsRawXText(ReadOnlySpan<byte> line, string key)
    {
        ReadOnlySpan<byte> value = RawValue(line, key);
        if (key == "ORCPT")
        {
            value = value[(value.IndexOf((byte)';') + 1)..];
        }

        for (int i = 0; i < value.Length; i++)
        {
            byte b = value[i];
            if (b == (byte)'+')
            {
                if (i + 2 >= value.Length || !IsUpperHex(value[i + 1]) || !IsUpperHex(value[i + 2]))
                {
                    return false;
                }

                i += 2;
            }
            else if (b is < 0x21 or (byte)'=' or 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsListed(IList<string> names, string key)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i]?.Trim(), key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The raw value of the last parameter named <paramref name="key"/> (the part after its first <c>=</c>), or empty.</summary>
    private static ReadOnlySpan<byte> RawValue(ReadOnlySpan<byte> line, string key)
    {
        // The parameters follow the path, the first token after the colon (AddressParser's split).
        ReadOnlySpan<byte> rest = line[(line.IndexOf((byte)':') + 1)..].TrimStart(" \t"u8);
        int pathEnd = rest.IndexOfAny(" \t"u8);
        rest = pathEnd < 0 ? default : rest[pathEnd..];
        ReadOnlySpan<byte> found = default;
        Span<byte> name = stackalloc byte[16];
        int nameLength = Encoding.ASCII.GetBytes(key, name);
        while (!rest.IsEmpty)
        {
            rest = rest.TrimStart(" \t"u8);
            int end = rest.IndexOfAny(" \t"u8);
            ReadOnlySpan<byte> token = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];
            int eq = token.IndexOf((byte)'=');
            if (eq > 0 && Ascii.EqualsIgnoreCase(token[..eq], name[..nameLength]))
            {
                found = token[(eq + 1)..];
            }
        }

        return found;
    }

    private static bool IsUpperHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'A' and <= (byte)'F');
}
