namespace Smtpd;

/// <summary>
/// LOGIN: <c>334 VXNlcm5hbWU6</c> ("Username:") unless the AUTH command carried the user name, then
/// <c>334 UGFzc3dvcmQ6</c> ("Password:"), each answer base64.
/// </summary>
internal sealed class LoginMechanism : SaslServerMechanism
{
    private const string UsernamePrompt = "VXNlcm5hbWU6";
    private const string PasswordPrompt = "UGFzc3dvcmQ6";
    private string? _username;

    public override string Name => SmtpAuthMethods.Login;

    public override string SyntaxError => "Error: syntax: AUTH LOGIN";

    public override SaslStep Start(string? initialResponse) =>
        initialResponse is null ? SaslStep.Challenge(UsernamePrompt) : AcceptUsername(initialResponse);

    public override SaslStep Continue(string line)
    {
        if (IsCancel(line))
        {
            return SaslStep.Aborted;
        }

        return _username is null
            ? AcceptUsername(line)
            : SaslStep.Authenticate(new SmtpAuthRequest(SmtpAuthMethods.Login, _username, password: DecodeText(line)));
    }

    private SaslStep AcceptUsername(string base64)
    {
        string username = DecodeText(base64);
        if (username.Length == 0)
        {
            return SaslStep.MissingUsername;
        }

        if (HasControl(username))
        {
            return SaslStep.InvalidUserdata;
        }

        _username = username;
        return SaslStep.Challenge(PasswordPrompt);
    }
}
