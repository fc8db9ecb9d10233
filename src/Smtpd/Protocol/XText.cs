using System.Text;

namespace Smtpd;

/// <summary>RFC 3461 xtext: <c>+XX</c> escapes with upper-case hexadecimal digits (lower-case escapes stay literal, as the reference).</summary>
internal static class XText
{
    /// <summary>Decodes <paramref name="value"/>. Decoded bytes form UTF-8 text; a lone byte above 0x7F becomes its Latin-1 character.</summary>
    public static string Decode(string value)
    {
        int plus = value.IndexOf('+', StringComparison.Ordinal);
        if (plus < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        builder.Append(value, 0, plus);
        for (int i = plus; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '+' && i + 2 < value.Length && IsUpperHex(value[i + 1]) && IsUpperHex(value[i + 2]))
            {
                builder.Append((char)((HexValue(value[i + 1]) << 4) | HexValue(value[i + 2])));
                i += 2;
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Encodes <paramref name="value"/> as xtext (for writing parameters back out).</summary>
    public static string Encode(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (char c in value)
        {
            if (c is < '!' or > '~' or '+' or '=')
            {
                foreach (byte b in Encoding.UTF8.GetBytes(c.ToString()))
                {
                    builder.Append('+').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Does <paramref name="value"/> contain a C0, DEL or C1 control character?</summary>
    public static bool HasControl(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsUpperHex(char c) => c is (>= '0' and <= '9') or (>= 'A' and <= 'F');

    private static int HexValue(char c) => c <= '9' ? c - '0' : c - 'A' + 10;
}
