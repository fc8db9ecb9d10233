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
    /// Only refusals with a 5xx code count (not aborts, syntax errors or temporary 4xx failures), and one secret tried
    /// over several mechanisms counts once: a refusal for the user name of the refusal before, with a mechanism not yet
    /// tried for it, and a secret that matches the earlier one wherever both can be compared (clients such as MailKit
    /// try each advertised mechanism in turn with the same password). Default 3; 0 disables the limit.
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
    /// Failed authentications allowed from one client address within <see cref="AuthFailureWindow"/>, across connections
    /// (IPv6 clients count by their /64 network). Once an address has failed this often, its AUTH commands get
    /// <c>454 4.7.0 Error: too many failed authentications from &lt;address&gt;, try again later</c>, without a look at
    /// the credentials, until the window that its first failure opened has passed. One mistyped secret that a client
    /// tries over several mechanisms counts once (see <see cref="MaxAuthFailures"/>). Default 10; 0 disables the limit.
    /// </summary>
    public int MaxAuthFailuresPerClient { get; set; } = 10;

    /// <summary>The window of <see cref="MaxAuthFailuresPerClient"/>, opened by an address's first failure. Default 5 minutes.</summary>
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The pause before the reply to a failed authentication, growing with each failure on the connection: this times the
    /// number of failures so far, at most ten times this (1 s, 2 s, 3 s, … by default). It makes guessing over one
    /// connection slow; wrong user names and wrong passwords wait alike. Default 1 s; zero answers at once.
    /// </summary>
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Checks an authentication attempt: return <see cref="SmtpAuthResult.Success(object)"/> with the user object (it
    /// becomes <see cref="SmtpSession.User"/>), a <see cref="SmtpAuthResult.Failure()"/>, or for SCRAM-SHA-256 the stored
    /// credentials (<see cref="SmtpAuthResult.Scram"/>). Throwing an <see cref="SmtpException"/> replies with its code
    /// (default 535) and text. Without a handler every attempt fails (<c>535 Authentication not implemented</c>). For a
    /// user name → password map, <see cref="SmtpPasswordAuthenticator.AuthenticateAsync"/> serves every mechanism.
    /// </summary>
    public Func<SmtpAuthRequest, SmtpSession, CancellationToken, ValueTask<SmtpAuthResult>>? OnAuth { get; set; }
}
