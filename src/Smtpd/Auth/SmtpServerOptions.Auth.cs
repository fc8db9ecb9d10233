namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    private int _maxAuthFailures = 3;

    /// <summary>
    /// SASL mechanisms advertised (in this order) and accepted; see <see cref="SmtpAuthMethods"/>. Default <c>LOGIN</c>,
    /// <c>PLAIN</c>, as the reference. <c>OAUTHBEARER</c> and <c>SCRAM-SHA-256</c> are offered only when listed here.
    /// A name Smtpd does not implement is advertised but answered <c>504</c>, as the reference does.
    /// </summary>
    public IList<string> AuthMethods { get; set; } = [SmtpAuthMethods.Login, SmtpAuthMethods.Plain];

    /// <summary>Do not require authentication for MAIL/RCPT/DATA (and do not count unauthenticated commands).</summary>
    public bool AuthOptional { get; set; }

    /// <summary>Text of the 530 reply to MAIL/RCPT/DATA when authentication is required.</summary>
    public string AuthRequiredMessage { get; set; } = "Error: authentication Required";

    /// <summary>
    /// Allow AUTH on a cleartext connection although STARTTLS could be used. When false (the default), AUTH before
    /// STARTTLS gets <c>538 5.7.11 Error: Must issue a STARTTLS command first</c> whenever the server can do STARTTLS,
    /// also when <see cref="HideStartTls"/> hides it (the command still works). Disabling STARTTLS allows cleartext AUTH.
    /// </summary>
    public bool AllowInsecureAuth { get; set; }

    /// <summary>
    /// Leave AUTH out of the EHLO reply until the connection is encrypted (Postfix's <c>smtpd_tls_auth_only</c>), so
    /// that clients do not offer credentials in cleartext. Default false: AUTH is advertised as the reference does.
    /// </summary>
    public bool HideAuthBeforeTls { get; set; }

    /// <summary>
    /// While AUTH is required, the number of commands an unauthenticated client may send (AUTH itself excluded)
    /// before <c>421 Error: too many unauthenticated commands</c>; the limit-th command is refused. Default 10, as the
    /// reference; 0 disables the limit.
    /// </summary>
    public int MaxAllowedUnauthenticatedCommands { get; set; } = 10;

    /// <summary>
    /// Refused authentications allowed per connection. Each is answered as usual (<c>535</c>); the one that reaches the
    /// limit is followed by <c>421 4.7.0 Error: too many failed authentication attempts</c> and the connection closes.
    /// Only refusals with a 5xx code count (not aborts, syntax errors or temporary 4xx failures). Default 3; 0 disables the limit.
    /// </summary>
    public int MaxAuthFailures
    {
        get => _maxAuthFailures;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxAuthFailures = value;
        }
    }

    /// <summary>
    /// Checks an authentication attempt: return <see cref="SmtpAuthResult.Success(object)"/> with the user object (it
    /// becomes <see cref="SmtpSession.User"/>), a <see cref="SmtpAuthResult.Failure()"/>, or for SCRAM-SHA-256 the stored
    /// credentials (<see cref="SmtpAuthResult.Scram"/>). Throwing an <see cref="SmtpException"/> replies with its code
    /// (default 535) and text. Without a handler every attempt fails (<c>535 Authentication not implemented</c>). For a
    /// user name → password map, <see cref="SmtpPasswordAuthenticator.AuthenticateAsync"/> serves every mechanism.
    /// </summary>
    public Func<SmtpAuthRequest, SmtpSession, CancellationToken, ValueTask<SmtpAuthResult>>? OnAuth { get; set; }
}
