namespace Smtpd;

public partial class SmtpServer
{
    /// <summary>
    /// Called for every authentication attempt (and for <c>XCLIENT LOGIN=</c>, with method <c>XCLIENT</c> and no secret).
    /// The default calls <see cref="SmtpServerOptions.OnAuth"/>; without it, every attempt fails as the reference's:
    /// <c>535 Authentication not implemented</c>, XOAUTH2 with the error challenge
    /// <c>{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}</c>, and XCLIENT LOGIN leaves the
    /// client unauthenticated without an error.
    /// </summary>
    /// <param name="auth">The attempt: method, user name, secret.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpAuthResult> OnAuthAsync(SmtpAuthRequest auth, SmtpSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auth);
        if (_context.Options.OnAuth is { } onAuth)
        {
            return onAuth(auth, session, cancellationToken);
        }

        return new(auth.Method switch
        {
            SmtpAuthMethods.XOAuth2 => DefaultXOAuth2Failure,
            SmtpAuthMethods.XClient => SmtpAuthResult.Unhandled,
            _ => SmtpAuthResult.Failure(535, "Authentication not implemented"),
        });
    }

    /// <summary>The reference's answer to XOAUTH2 without a handler (results are immutable: built once).</summary>
    private static readonly SmtpAuthResult DefaultXOAuth2Failure = SmtpAuthResult.OAuthFailure("401", "https://mail.google.com/", "bearer mac");

    internal ValueTask<SmtpAuthResult> InvokeAuthAsync(SmtpAuthRequest auth, SmtpSession session, CancellationToken ct) => OnAuthAsync(auth, session, ct);
}
