using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>
    /// Implicit TLS (SMTPS): every connection starts with a TLS handshake, before any SMTP byte. The session is secure
    /// from the start, STARTTLS is not offered (it gets <c>503</c>), and <see cref="OnSecure"/> runs before the greeting.
    /// Applies to accepted sockets and to sockets and streams handed to the server; a stream that already is an
    /// authenticated <see cref="System.Net.Security.SslStream"/> is taken as it is.
    /// </summary>
    public bool Secure { get; set; }

    /// <summary>
    /// With <see cref="Secure"/>: the connection starts the SMTP session in plaintext (client slot, reverse DNS,
    /// <see cref="OnConnect"/>) and is upgraded to TLS right before the greeting. Without <see cref="Secure"/> it has no effect.
    /// </summary>
    public bool NeedsUpgrade { get; set; }

    /// <summary>
    /// TLS is terminated before the server (by a proxy, or by the caller of <see cref="SmtpServer.HandleStreamAsync"/>):
    /// no handshake is done, yet every session counts as secure (<c>ESMTPS</c>, no STARTTLS, <c>REQUIRETLS</c> allowed)
    /// and <see cref="OnSecure"/> runs before the greeting.
    /// </summary>
    public bool Secured { get; set; }

    /// <summary>The private key of <see cref="Cert"/> as PEM text (PKCS#8, PKCS#1 or SEC1; encrypted PKCS#8 with <see cref="Passphrase"/>). Without it the key is looked for in <see cref="Cert"/>.</summary>
    public string? Key { get; set; }

    /// <summary>
    /// The server certificate as PEM text: the certificate first, then its intermediates. Use either this (with
    /// <see cref="Key"/>) or <see cref="Certificate"/>. With neither, a self-signed certificate for <see cref="Name"/> is
    /// generated at start and a warning is logged.
    /// </summary>
    public string? Cert { get; set; }

    /// <summary>The passphrase of an encrypted <see cref="Key"/>.</summary>
    public string? Passphrase { get; set; }

    /// <summary>
    /// The server certificate for .NET users: an <see cref="X509Certificate2"/> with its private key converts implicitly;
    /// <see cref="SmtpTlsCertificate.FromPemFile(string, string?, string?)"/> loads one with its chain from files.
    /// Use either this or <see cref="Key"/>/<see cref="Cert"/>.
    /// </summary>
    public SmtpTlsCertificate? Certificate { get; set; }

    /// <summary>
    /// Trusted CA certificates as PEM texts (each may hold several). With <see cref="RequestCert"/> client certificates are
    /// validated against these instead of the system's trust store, and their names are sent in the certificate request.
    /// They also complete the chain sent with the server certificate.
    /// </summary>
    public IList<string> Ca { get; set; } = [];

    /// <summary>Trusted CA certificates as objects; joined with <see cref="Ca"/>.</summary>
    public X509Certificate2Collection? CaCertificates { get; set; }

    /// <summary>
    /// The cipher suites, in OpenSSL's cipher-list syntax as the reference takes it, e.g.
    /// <c>TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL</c>. Entries starting with <c>TLS_</c> name
    /// suites exactly (the TLS 1.3 ones, or IANA names); the rest are OpenSSL names and keywords with <c>!</c>, <c>-</c>,
    /// <c>+</c> and <c>@STRENGTH</c>. As in Node.js, a list without TLS 1.3 suites turns TLS 1.3 off. Mapped onto a
    /// <see cref="System.Net.Security.CipherSuitesPolicy"/> (Linux and macOS). <see langword="null"/>: the system's defaults.
    /// </summary>
    public string? Ciphers { get; set; }

    /// <summary>The TLS versions offered. Default TLS 1.2 and 1.3; <see cref="SslProtocols.None"/> leaves the choice to the system.</summary>
    public SslProtocols SslProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// Ask the client for a certificate during the handshake. It is validated against <see cref="Ca"/> (or the system's
    /// trust store) and exposed on the session (<see cref="SmtpSession.ClientCertificate"/>,
    /// <see cref="SmtpSession.ClientCertificateErrors"/>); whether a missing or invalid one ends the connection is
    /// <see cref="RejectUnauthorized"/>'s call.
    /// </summary>
    public bool RequestCert { get; set; }

    /// <summary>With <see cref="RequestCert"/>: fail the handshake when the client sends no certificate or one that does not validate.</summary>
    public bool RejectUnauthorized { get; set; }

    /// <summary>
    /// Certificates by server name (SNI). Names are compared case-insensitively, punycode labels (<c>xn--</c>) as Unicode;
    /// a client that sends another name or none gets the default certificate. Applies to implicit TLS and STARTTLS.
    /// </summary>
    public IDictionary<string, SmtpTlsCertificate> SniOptions { get; set; } = new Dictionary<string, SmtpTlsCertificate>();

    /// <summary>
    /// Chooses the certificate for a server name asynchronously (the reference's <c>SNICallback</c>): called with the
    /// normalised name (lower case, Unicode) when the client sends one. Returning <see langword="null"/> (or throwing,
    /// which is logged) falls back to <see cref="SniOptions"/>, then to the default certificate. Return cached
    /// instances: each new one is prepared once.
    /// </summary>
    public Func<string, CancellationToken, ValueTask<SmtpTlsCertificate?>>? SniCallback { get; set; }

    /// <summary>Do not advertise STARTTLS (the command still works).</summary>
    public bool HideStartTls { get; set; }

    /// <summary>
    /// Called after every TLS handshake (implicit TLS and STARTTLS; for <see cref="Secured"/> before the greeting) with
    /// the session's TLS details set. Reject to refuse the client: the reply is sent and the connection closed.
    /// </summary>
    public Func<SmtpSession, CancellationToken, ValueTask<SmtpResult>>? OnSecure { get; set; }

    private static void CloneTls(SmtpServerOptions copy)
    {
        copy.Ca = [.. copy.Ca];
        copy.CaCertificates = copy.CaCertificates is null ? null : [.. copy.CaCertificates];
        copy.SniOptions = new Dictionary<string, SmtpTlsCertificate>(copy.SniOptions);
    }

    /// <summary>Copies the TLS material (what <see cref="SmtpServer.UpdateSecureContext"/> may change) from <paramref name="source"/>.</summary>
    internal void CopyTlsMaterialFrom(SmtpServerOptions source)
    {
        Key = source.Key;
        Cert = source.Cert;
        Passphrase = source.Passphrase;
        Certificate = source.Certificate;
        Ca = source.Ca;
        CaCertificates = source.CaCertificates;
        Ciphers = source.Ciphers;
        SslProtocols = source.SslProtocols;
        RequestCert = source.RequestCert;
        RejectUnauthorized = source.RejectUnauthorized;
        SniOptions = source.SniOptions;
        SniCallback = source.SniCallback;
    }

    /// <summary>
    /// For <see cref="SmtpServer.UpdateSecureContext"/>: when the update changed one form of the server certificate
    /// (<see cref="Certificate"/>, or <see cref="Key"/>/<see cref="Cert"/>) and left the other as it was, the other
    /// belongs to the previous certificate and is dropped. An update that changed both keeps both (and is refused if
    /// both are set).
    /// </summary>
    /// <param name="previous">The options before the update.</param>
    internal void DropReplacedCertificateForm(SmtpServerOptions previous)
    {
        bool pemChanged = !string.Equals(Key, previous.Key, StringComparison.Ordinal) || !string.Equals(Cert, previous.Cert, StringComparison.Ordinal);
        bool objectChanged = !ReferenceEquals(Certificate, previous.Certificate);
        if (pemChanged && !objectChanged)
        {
            Certificate = null;
        }
        else if (objectChanged && !pemChanged)
        {
            Key = null;
            Cert = null;
        }
    }

    private void ValidateTls()
    {
        ArgumentNullException.ThrowIfNull(Ca);
        ArgumentNullException.ThrowIfNull(SniOptions);
        if (Certificate is not null && (Key is not null || Cert is not null))
        {
            throw new ArgumentException("Set either Certificate or Key/Cert, not both.", nameof(Certificate));
        }

        if (Key is not null && Cert is null)
        {
            throw new ArgumentException("Key is set but Cert is not: the certificate is missing.", nameof(Cert));
        }

        if (Ciphers is not null && string.IsNullOrWhiteSpace(Ciphers))
        {
            throw new ArgumentException("Ciphers is empty; leave it null for the system's defaults.", nameof(Ciphers));
        }

        foreach (KeyValuePair<string, SmtpTlsCertificate> entry in SniOptions)
        {
            if (string.IsNullOrWhiteSpace(entry.Key) || entry.Value is null)
            {
                throw new ArgumentException("SniOptions maps non-empty server names to certificates.", nameof(SniOptions));
            }
        }
    }
}
