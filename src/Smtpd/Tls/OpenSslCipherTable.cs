using System.Net.Security;

namespace Smtpd;

/// <summary>
/// Turns an OpenSSL cipher list (the reference's <c>ciphers</c> option) into cipher suites. Supported: OpenSSL suite
/// names, IANA names (<c>TLS_…</c>, which is also how TLS 1.3 suites are named), the keywords of OpenSSL's cipher-list
/// syntax (<c>HIGH</c>, <c>ECDHE</c>, <c>AESGCM</c>, <c>aNULL</c>, …) combined with <c>+</c>, the prefixes <c>!</c>
/// (remove for good), <c>-</c> (remove) and <c>+</c> (move to the end), and <c>@STRENGTH</c>; <c>@SECLEVEL=n</c> is
/// accepted and ignored. Entries may be separated by <c>:</c>, <c>,</c>, <c>;</c> or spaces. Keywords never select
/// TLS 1.3 suites (as in OpenSSL, where they are configured apart).
/// </summary>
internal static partial class OpenSslCipherTable
{
    /// <summary>Parses <paramref name="cipherList"/>; entries that name nothing known are returned in <paramref name="unknown"/>.</summary>
    public static List<TlsCipherSuite> Parse(string cipherList, out List<string> unknown)
    {
        ArgumentNullException.ThrowIfNull(cipherList);
        unknown = [];
        var active = new List<ushort>();
        var killed = new HashSet<ushort>();
        foreach (string token in cipherList.Split([':', ',', ';', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            char op = token[0] is '!' or '-' or '+' ? token[0] : '\0';
            string body = op == '\0' ? token : token[1..];
            if (body.StartsWith('@'))
            {
                if (body == "@STRENGTH")
                {
                    // Stable sort by strength, strongest first.
                    List<ushort> sorted = [.. active.Select((code, i) => (code, i)).OrderByDescending(x => Bits(x.code)).ThenBy(x => x.i).Select(x => x.code)];
                    active.Clear();
                    active.AddRange(sorted);
                }
                else if (!body.StartsWith("@SECLEVEL=", StringComparison.Ordinal))
                {
                    unknown.Add(token);
                }

                continue;
            }

            List<ushort>? selected = Resolve(body);
            if (selected is null)
            {
                unknown.Add(token);
                continue;
            }

            switch (op)
            {
                case '!':
                    active.RemoveAll(selected.Contains);
                    killed.UnionWith(selected);
                    break;
                case '-':
                    active.RemoveAll(selected.Contains);
                    break;
                case '+':
                    List<ushort> moved = active.FindAll(selected.Contains);
                    active.RemoveAll(selected.Contains);
                    active.AddRange(moved);
                    break;
                default:
                    foreach (ushort code in selected)
                    {
                        if (!killed.Contains(code) && !active.Contains(code))
                        {
                            active.Add(code);
                        }
                    }

                    break;
            }
        }

        return active.ConvertAll(code => (TlsCipherSuite)code);
    }

    /// <summary>Is <paramref name="suite"/> a TLS 1.3 suite?</summary>
    public static bool IsTls13(TlsCipherSuite suite) => (ushort)suite is >= 0x1301 and <= 0x1305;

    /// <summary>The suites one entry selects: a keyword, a name, or keywords joined with <c>+</c> (all must match).</summary>
    private static List<ushort>? Resolve(string body)
    {
        List<ushort>? result = null;
        foreach (string part in body.Split('+'))
        {
            List<ushort>? one = ResolveOne(part);
            if (one is null)
            {
                return null;
            }

            result = result is null ? one : result.FindAll(one.Contains);
        }

        return result;
    }

    private static List<ushort>? ResolveOne(string part)
    {
        if (Keywords.TryGetValue(part, out ushort[]? codes))
        {
            return [.. codes];
        }

        if (Indexes.ByName.TryGetValue(part, out int index))
        {
            return [Suites[index].Code];
        }

        if (part.StartsWith("TLS_", StringComparison.Ordinal) && Enum.TryParse(part, ignoreCase: false, out TlsCipherSuite suite)
            && Enum.IsDefined(suite))
        {
            return [(ushort)suite];
        }

        return null;
    }

    private static int Bits(ushort code) => Indexes.ByCode.TryGetValue(code, out int index) ? Suites[index].Bits : code is 0x1302 or 0x1303 ? 256 : 128;

    /// <summary>Lookups over <see cref="Suites"/>, built on first use (the table lives in another part of this class).</summary>
    private static class Indexes
    {
        public static readonly Dictionary<string, int> ByName = BuildNameIndex();
        public static readonly Dictionary<ushort, int> ByCode = BuildCodeIndex();
    }

    private static Dictionary<string, int> BuildNameIndex()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Suites.Length; i++)
        {
            index[Suites[i].Name] = i;
        }

        return index;
    }

    private static Dictionary<ushort, int> BuildCodeIndex()
    {
        var index = new Dictionary<ushort, int>();
        for (int i = 0; i < Suites.Length; i++)
        {
            index[Suites[i].Code] = i;
        }

        return index;
    }
}
