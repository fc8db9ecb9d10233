namespace Smtpd;

/// <summary>
/// PLAIN (RFC 4616): <c>[authzid] NUL authcid NUL password</c> in one base64 message, as initial response or after an
/// empty <c>334 </c>. Exactly three parts, else <c>501 Error: invalid userdata</c>.
/// </summary>
internal sealed class PlainMechanism : SaslServerMechanism
{
    public override string Name => SmtpAuthMethods.Plain;

    public override SaslStep Start(string? initialResponse) =>
        initialResponse is null ? SaslStep.Challenge("") : Parse(initialResponse);

    public override SaslStep Continue(string line) => IsCancel(line) ? SaslStep.Aborted : Parse(line);

    private static SaslStep Parse(string base64)
    {
        string message = DecodeText(base64);
        int first = message.IndexOf('\0', StringComparison.Ordinal);
        int second = first < 0 ? -1 : message.IndexOf('\0', first + 1);
        if (second < 0 || message.IndexOf('\0', second + 1) >= 0)
        {
            return SaslStep.InvalidUserdata;
        }

        string authorizationIdentity = message[..first];
        string authenticationIdentity = message[(first + 1)..second];
        string password = message[(second + 1)..];
        string username = authenticationIdentity.Length > 0 ? authenticationIdentity : authorizationIdentity;
        if (HasControl(username) || HasControl(authorizationIdentity))
        {
            return SaslStep.InvalidUserdata;
        }

        return SaslStep.Authenticate(new SmtpAuthRequest(SmtpAuthMethods.Plain, username, password: password, authorizationIdentity: authorizationIdentity));
    }
}
