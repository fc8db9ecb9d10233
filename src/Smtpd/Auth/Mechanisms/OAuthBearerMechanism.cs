namespace Smtpd;

/// <summary>
/// OAUTHBEARER (RFC 7628): base64 of <c>n,a=&lt;authzid&gt;,^Ahost=…^Aport=…^Aauth=Bearer &lt;token&gt;^A^A</c>. The user
/// name is the authorization identity (<c>a=</c>). A refused token gets the JSON error challenge (§3.2.2); the client's
/// dummy answer (<c>^A</c>) then gets <c>535 Error: Username and Password not accepted</c>.
/// </summary>
internal sealed class OAuthBearerMechanism : BearerTokenMechanism
{
    public override string Name => SmtpAuthMethods.OAuthBearer;

    protected override string DefaultError => """{"status":"invalid_token"}""";

    protected override SaslStep Parse(string base64)
    {
        string message = DecodeText(base64);
        int header = ParseGs2Header(message, out string? authorizationIdentity);
        if (header < 0 || header >= message.Length || message[header] != '\x01')
        {
            return SaslStep.InvalidUserdata;
        }

        string? token = null;
        foreach (string pair in message[(header + 1)..].Split('\x01'))
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair.AsSpan(0, equals).Equals("auth", StringComparison.OrdinalIgnoreCase))
            {
                token = BearerToken(pair[(equals + 1)..]);
            }
        }

        string username = authorizationIdentity ?? "";
        if (string.IsNullOrEmpty(token) || HasControl(username))
        {
            return SaslStep.InvalidUserdata;
        }

        return SaslStep.Authenticate(new SmtpAuthRequest(SmtpAuthMethods.OAuthBearer, username, accessToken: token, authorizationIdentity: authorizationIdentity));
    }
}
