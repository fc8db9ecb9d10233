using System.Globalization;
using System.Net;
using System.Text;

namespace Smtpd;

/// <summary>
/// The <c>KEY=VALUE</c> attributes of XCLIENT and XFORWARD: parsed and checked as a whole before anything is applied,
/// then applied to the session by the rules both commands share.
/// </summary>
internal sealed class ForwardedAttributes
{
    private const string BadSyntax = "Error: Bad command parameter syntax";

    private readonly List<KeyValuePair<string, string?>> _attributes;

    private ForwardedAttributes(List<KeyValuePair<string, string?>> attributes) => _attributes = attributes;

    /// <summary>
    /// The checks XCLIENT and XFORWARD share, in order: the peer is trusted (<paramref name="offered"/>), no mail
    /// transaction is open, the attributes are valid. On a refusal its reply is written and <see langword="null"/> returned.
    /// </summary>
    public static ForwardedAttributes? Accept(SmtpProtocol protocol, bool offered, CommandLine command, string[] keys, bool tempUnavailableToo)
    {
        if (!offered)
        {
            protocol.Replies.Write(550, "5.7.0", "Error: Not allowed");
            return null;
        }

        if (protocol.Session.CurrentTransaction?.HasSender == true)
        {
            protocol.Replies.Write(503, "5.5.1", "Error: Mail transaction in progress");
            return null;
        }

        // Everything is validated before anything is applied.
        if (TryParse(command.Arguments, keys, tempUnavailableToo, out ForwardedAttributes? attributes) is { } error)
        {
            protocol.Replies.Write(501, "5.5.4", error);
            return null;
        }

        return attributes;
    }

    /// <summary>
    /// Splits the attributes (runs of spaces or tabs between them), checks every one, and decodes the xtext values;
    /// <c>[UNAVAILABLE]</c> (and with <paramref name="tempUnavailableToo"/> <c>[TEMPUNAVAIL]</c>) become
    /// <see langword="null"/>. A repeated key keeps its first value. <c>ADDR</c> must be an IP address (optional
    /// <c>IPv6:</c> prefix; kept in canonical form), <c>NAME</c> a host name.
    /// </summary>
    /// <returns><see langword="null"/> when the attributes are valid, else the text of the 501 reply.</returns>
    private static string? TryParse(ReadOnlySpan<byte> arguments, string[] keys, bool tempUnavailableToo, out ForwardedAttributes? parsed)
    {
        parsed = null;
        string[] parts = Encoding.UTF8.GetString(arguments).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return BadSyntax;
        }

        var result = new ForwardedAttributes(new List<KeyValuePair<string, string?>>(parts.Length));
        foreach (string part in parts)
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || part.IndexOf('=', equals + 1) >= 0)
            {
                return BadSyntax;
            }

            string key = part[..equals].ToUpperInvariant();
            if (Array.IndexOf(keys, key) < 0)
            {
                return BadSyntax;
            }

            string? value = XText.Decode(part[(equals + 1)..]);
            if (XText.HasControl(value))
            {
                return BadSyntax;
            }

            if (string.Equals(value, "[UNAVAILABLE]", StringComparison.OrdinalIgnoreCase)
                || (tempUnavailableToo && string.Equals(value, "[TEMPUNAVAIL]", StringComparison.OrdinalIgnoreCase)))
            {
                value = null;
            }

            if (result.TryGet(key, out _))
            {
                continue;
            }

            if (key == "ADDR" && value is not null)
            {
                if (value.Length == 0)
                {
                    // Nothing announced: treated as unavailable.
                    value = null;
                }
                else
                {
                    string literal = value.StartsWith("IPV6:", StringComparison.OrdinalIgnoreCase) ? value[5..] : value;
                    value = IpText.IsStrictIPv4(literal) ? literal : IpText.CanonicalIPv6(literal);
                    if (value is null)
                    {
                        return BadSyntax + ". Invalid address";
                    }
                }
            }
            else if (key == "NAME" && !string.IsNullOrEmpty(value) && HostnameRules.Normalize(value) is null)
            {
                return BadSyntax + ". Invalid hostname";
            }

            result._attributes.Add(new KeyValuePair<string, string?>(key, value));
        }

        parsed = result;
        return null;
    }

    /// <summary>The value of <paramref name="key"/> (<see langword="null"/> when unavailable); <see langword="false"/> when absent.</summary>
    public bool TryGet(string key, out string? value)
    {
        foreach (KeyValuePair<string, string?> attribute in _attributes)
        {
            if (attribute.Key == key)
            {
                value = attribute.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary><c>ADDR</c>: the client's address, and its bracketed form as host name until a NAME says otherwise.</summary>
    public static void ApplyAddress(SmtpSession session, string address)
    {
        session.RemoteAddress = IpText.Normalize(IPAddress.Parse(address));
        session.ClientHostname = session.BracketedRemoteAddress;
    }

    /// <summary><c>NAME</c>: the host name, or the bracketed address when it is unavailable or empty.</summary>
    public static void ApplyName(SmtpSession session, string? name) =>
        session.ClientHostname = string.IsNullOrEmpty(name) ? session.BracketedRemoteAddress : HostnameRules.Normalize(name)!;

    /// <summary>A port attribute as a number; anything else (unavailable, not a number, out of range) is 0, "unknown".</summary>
    public static int ParsePort(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535 ? port : 0;

    /// <summary>Records the attributes as the session shows them (a later command overwrites earlier values).</summary>
    public void RecordInto(Dictionary<string, string?> map)
    {
        foreach (KeyValuePair<string, string?> attribute in _attributes)
        {
            map[attribute.Key] = attribute.Value;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(' ', _attributes.Select(a => a.Key + "=" + (a.Value ?? "[UNAVAILABLE]")));
}
