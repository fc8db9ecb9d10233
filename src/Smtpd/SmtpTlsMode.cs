namespace Smtpd;

/// <summary>How an endpoint uses TLS (<see cref="SmtpListenOptions.TlsMode"/>).</summary>
public enum SmtpTlsMode
{
    /// <summary>Plaintext first; <c>STARTTLS</c> is offered (port 25 and 587). The server's default unless <see cref="SmtpServerOptions.Secure"/>.</summary>
    StartTls,

    /// <summary>Implicit TLS: the handshake comes before any SMTP byte (port 465, <see cref="SmtpServerOptions.Secure"/>).</summary>
    Implicit,

    /// <summary>No TLS: <c>STARTTLS</c> is neither advertised nor accepted on this endpoint (it is an unknown command there).</summary>
    None,
}
