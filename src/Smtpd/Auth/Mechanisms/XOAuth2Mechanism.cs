namespace Smtpd;

/// <summary>
/// XOAUTH2 (Google, Microsoft): base64 of <c>user=&lt;name&gt;^Aauth=Bearer &lt;token&gt;^A^A</c>. A refused token gets the
/// JSON error challenge <c>334 &lt;base64 JSON&gt;</c>; the client's next line (normally empty) then gets
/// <c>535 Error: Username and Password not accepted</c>.
/// </summary>
internal sealed class XOAuth2Mechanism : BearerTokenMechanism
{
    public override string Name => SmtpAuthMethods.XOAuth2;

    // The reference sends the JSON of the handler's data, "{}" when there is none.
    protected override string DefaultError => "{}";

    protected override SaslStep Parse(string base64)
    {
        string? username = null;
        string? token = null;
        foreach (string field in DecodeText(base64).Split('\x01'))
        {
            int equals = field.IndexOf('=', StringComparison.Ordinal);
            ReadOnlySpan<char> key = equals < 0 ? field : field.AsSpan(0, equals);
            string value = equals < 0 ? "" : field[(equals + 1)..].Trim();
            if (key.Equals("user", StringComparison.OrdinalIgnoreCase))
            {
                username = value;
            }
            else if (key.Equals("auth", StringComparison.OrdinalIgnoreCase))
            {
                token = BearerToken(value);
            }
        }

        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(token) || HasControl(username))
        {
            return SaslStep.InvalidUserdata;
        }

        return SaslStep.Authenticate(new SmtpAuthRequest(SmtpAuthMethods.XOAuth2, username, accessToken: token));
    }
}
