namespace Smtpd;

public partial class SmtpServer
{
    private readonly Lock _tlsUpdateLock = new();

    /// <summary>The TLS material new handshakes use, or <see langword="null"/> when this server never does a handshake.</summary>
    internal TlsContext? Tls => _context.Tls;

    /// <summary>
    /// Changes the TLS material while the server runs (the reference's <c>updateSecureContext</c>): <paramref name="configure"/>
    /// gets a copy of the current options; its certificates (<see cref="SmtpServerOptions.Key"/>,
    /// <see cref="SmtpServerOptions.Cert"/>, <see cref="SmtpServerOptions.Passphrase"/>, <see cref="SmtpServerOptions.Certificate"/>,
    /// <see cref="SmtpServerOptions.SniOptions"/>, <see cref="SmtpServerOptions.SniCallback"/>), CA certificates,
    /// <see cref="SmtpServerOptions.Ciphers"/>, <see cref="SmtpServerOptions.SslProtocols"/>, <see cref="SmtpServerOptions.RequestCert"/>
    /// and <see cref="SmtpServerOptions.RejectUnauthorized"/> are validated, prepared and then used by every new handshake
    /// on every endpoint; sessions already secured keep theirs. Setting one form of the server certificate
    /// (<see cref="SmtpServerOptions.Certificate"/>, or <see cref="SmtpServerOptions.Key"/> and <see cref="SmtpServerOptions.Cert"/>)
    /// replaces the other, whichever the server had before. Changes to other options are ignored. When it throws,
    /// nothing changed. This is the only part of the configuration that can change while the server runs.
    /// </summary>
    /// <param name="configure">Sets the new TLS options.</param>
    /// <exception cref="ArgumentException">The new TLS material cannot be used.</exception>
    /// <example>
    /// <code>
    /// server.UpdateSecureContext(o =>
    /// {
    ///     o.Key = File.ReadAllText("/etc/smtpd/new.key");
    ///     o.Cert = File.ReadAllText("/etc/smtpd/new.crt");
    /// });
    /// </code>
    /// </example>
    public void UpdateSecureContext(Action<SmtpServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        lock (_tlsUpdateLock)
        {
            SmtpServerOptions draft = _context.Options.Clone();
            configure(draft);
            draft.DropReplacedCertificateForm(_context.Options);

            // Only the TLS material is taken from the draft; everything else stays as the server was built.
            SmtpServerOptions next = _context.Options.Clone();
            next.CopyTlsMaterialFrom(draft);
            next.Validate();
            TlsContext? context = TlsContext.Create(next);
            _context.Options.CopyTlsMaterialFrom(next);
            Options.CopyTlsMaterialFrom(next);
            _context.UseTls(context, updated: true);
        }
    }

    /// <summary>
    /// Called after every TLS handshake (implicit TLS before the greeting, STARTTLS before the next command) and, with
    /// <see cref="SmtpServerOptions.Secured"/>, before the greeting. The session carries the TLS details
    /// (<see cref="SmtpSession.ServerName"/>, <see cref="SmtpSession.TlsProtocol"/>, <see cref="SmtpSession.TlsCipherSuite"/>,
    /// <see cref="SmtpSession.ClientCertificate"/>). Reject to refuse the client: the reply is sent and the connection closed.
    /// </summary>
    /// <param name="session">The session, now secure.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnSecureAsync(SmtpSession session, CancellationToken cancellationToken) =>
        _context.Options.OnSecure?.Invoke(session, cancellationToken) ?? default;

    internal ValueTask<SmtpResult> InvokeSecureAsync(SmtpSession session, CancellationToken ct) => OnSecureAsync(session, ct);
}
