using System.Text;

namespace Smtpd;

/// <summary>
/// The mapping and normalisation steps of SASLprep (RFC 4013) that SCRAM clients apply to passwords: non-ASCII spaces
/// become U+0020, "commonly mapped to nothing" characters are removed, then Unicode NFKC. Prohibited-character and
/// bidi checks are left out: they only make a client refuse a password, never change it. ASCII passes unchanged.
/// </summary>
internal static class SaslPrep
{
    /// <summary>Maps and normalises <paramref name="text"/>.</summary>
    public static string Normalize(string text)
    {
        if (Ascii.IsValid(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (IsMappedToNothing(c))
            {
                continue;
            }

            builder.Append(IsNonAsciiSpace(c) ? ' ' : c);
        }

        string mapped = builder.ToString();
        return mapped.Normalize(NormalizationForm.FormKC);
    }

    /// <summary>RFC 3454 table B.1.</summary>
    private static bool IsMappedToNothing(char c) => c is '\u00AD' or '\u034F' or '\u1806' or (>= '\u180B' and <= '\u180D')
        or (>= '\u200B' and <= '\u200D') or '\u2060' or (>= '\uFE00' and <= '\uFE0F') or '\uFEFF';

    /// <summary>RFC 3454 table C.1.2.</summary>
    private static bool IsNonAsciiSpace(char c) => c is '\u00A0' or '\u1680' or (>= '\u2000' and <= '\u200B') or '\u202F' or '\u205F' or '\u3000';
}
