namespace Smtpd;

/// <summary>Host name checks shared by reverse DNS, XCLIENT and XFORWARD.</summary>
internal static class HostnameRules
{
    /// <summary>
    /// Normalises a DNS name (lower case, no trailing dot) and checks it: at most 253 characters, labels of
    /// 1–63 characters of letters, digits and underscore with inner hyphens. Returns <see langword="null"/> when invalid.
    /// </summary>
    public static string? Normalize(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        string value = name.EndsWith('.') ? name[..^1] : name;
        value = value.ToLowerInvariant();
        if (value.Length is 0 or > 253)
        {
            return null;
        }

        int labelStart = 0;
        for (int i = 0; i <= value.Length; i++)
        {
            if (i == value.Length || value[i] == '.')
            {
                int length = i - labelStart;
                if (length is 0 or > 63 || value[labelStart] == '-' || value[i - 1] == '-')
                {
                    return null;
                }

                labelStart = i + 1;
                continue;
            }

            char c = value[i];
            if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-'))
            {
                return null;
            }
        }

        return value;
    }
}
