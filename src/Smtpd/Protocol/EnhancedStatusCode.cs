namespace Smtpd;

/// <summary>RFC 3463 enhanced status codes: the reference's table from a reply code, and validation.</summary>
internal static class EnhancedStatusCode
{
    /// <summary>The enhanced code the reference derives from a bare reply code (§6.3 step 5 and 6).</summary>
    public static string ForCode(int code) => code switch
    {
        200 or 211 or 214 or 220 or 221 or 250 => "2.0.0",
        235 => "2.7.0",
        251 or 252 => "2.1.5",
        420 or 421 => "4.4.2",
        450 => "4.2.1",
        451 => "4.3.0",
        452 => "4.2.2",
        454 => "4.7.0",
        500 => "5.5.2",
        501 => "5.5.4",
        502 or 503 => "5.5.1",
        504 => "5.5.4",
        521 => "5.3.2",
        523 => "5.3.4",
        530 => "5.7.0",
        535 => "5.7.8",
        538 => "5.7.0",
        550 => "5.1.1",
        551 => "5.1.6",
        552 => "5.2.2",
        553 => "5.1.3",
        554 => "5.6.0",
        555 => "5.5.4",
        556 => "5.1.10",
        557 => "5.7.1",
        558 => "5.2.3",
        >= 200 and < 300 => "2.0.0",
        >= 400 and < 500 => "4.0.0",
        _ => "5.0.0",
    };

    /// <summary>Checks <c>class.subject.detail</c> with the class matching the reply code's first digit.</summary>
    public static bool IsValid(string value, int code)
    {
        ReadOnlySpan<char> s = value;
        if (s.Length < 5 || s[0] - '0' != code / 100 || s[1] != '.')
        {
            return false;
        }

        int dot = s[2..].IndexOf('.');
        if (dot is < 1 or > 3)
        {
            return false;
        }

        ReadOnlySpan<char> subject = s.Slice(2, dot);
        ReadOnlySpan<char> detail = s[(3 + dot)..];
        return detail.Length is >= 1 and <= 3 && IsDigits(subject) && IsDigits(detail);
    }

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }
}
