using System.Globalization;
using Smtpd.Hosting;

namespace Smtpd.Server;

/// <summary>
/// The <c>recipients</c> setting: whole addresses (<c>user@domain</c>) and domains (<c>@domain</c>, that exact domain,
/// no subdomains), compared case-insensitively. Without entries every recipient is accepted. The reserved mailbox
/// <c>postmaster</c> is always accepted (RFC 5321 §4.5.1): without a domain, and at every domain an entry names.
/// </summary>
internal sealed class RecipientPolicy
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = true };
    private readonly HashSet<string> _addresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _domains = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _servedDomains = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Builds the policy from the setting's entries.</summary>
    /// <param name="entries">The entries.</param>
    /// <param name="settingPath">The setting's name, for error messages.</param>
    /// <exception cref="SmtpConfigurationException">An entry is neither <c>user@domain</c> nor <c>@domain</c>.</exception>
    public RecipientPolicy(IEnumerable<string> entries, string settingPath)
    {
        foreach (string entry in entries)
        {
            int at = entry.LastIndexOf('@');
            string domain = at < 0 ? "" : entry[(at + 1)..];
            if (at < 0 || domain.Length == 0 || domain.Contains('@', StringComparison.Ordinal) || entry.Any(char.IsWhiteSpace))
            {
                throw new SmtpConfigurationException($"{settingPath}: '{entry}' is neither user@domain nor @domain");
            }

            // Received addresses carry Unicode domains (the parser decodes IDNA): compare in that form.
            domain = ToUnicode(domain, entry, settingPath);
            _servedDomains.Add(domain);
            if (at == 0)
            {
                _domains.Add(domain);
            }
            else
            {
                _addresses.Add(entry[..(at + 1)] + domain);
            }
        }
    }

    /// <summary><see langword="true"/> when no entry was given: every recipient is accepted.</summary>
    public bool AcceptsEveryone => _addresses.Count == 0 && _domains.Count == 0;

    /// <summary>Is <paramref name="address"/> (as received, with a Unicode domain) an accepted recipient?</summary>
    /// <param name="address">The recipient address.</param>
    public bool Accepts(string address)
    {
        if (AcceptsEveryone || _addresses.Contains(address))
        {
            return true;
        }

        int at = address.LastIndexOf('@');
        if (at < 0)
        {
            // The parser lets only "postmaster" through without a domain.
            return address.Equals(Postmaster, StringComparison.OrdinalIgnoreCase);
        }

        ReadOnlySpan<char> domain = address.AsSpan(at + 1);
        return _domains.GetAlternateLookup<ReadOnlySpan<char>>().Contains(domain)
            || (address.AsSpan(0, at).Equals(Postmaster, StringComparison.OrdinalIgnoreCase) && _servedDomains.GetAlternateLookup<ReadOnlySpan<char>>().Contains(domain));
    }

    private const string Postmaster = "postmaster";

    private static string ToUnicode(string domain, string entry, string settingPath)
    {
        if (domain.StartsWith('['))
        {
            return domain;
        }

        try
        {
            return Idn.GetUnicode(domain);
        }
        catch (ArgumentException)
        {
            throw new SmtpConfigurationException($"{settingPath}: '{entry}' does not end with a valid domain");
        }
    }
}
