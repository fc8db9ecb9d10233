using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd;

public sealed partial class SmtpSession
{
    /// <summary>
    /// The server name the client asked for in its TLS handshake (SNI), lower case with punycode as Unicode, or
    /// <see langword="null"/> when it sent none or the session is not TLS.
    /// </summary>
    public string? ServerName { get; internal set; }

    /// <summary>The negotiated TLS version, or <see cref="SslProtocols.None"/> when the session is not TLS (or TLS was terminated before the server).</summary>
    public SslProtocols TlsProtocol { get; internal set; }

    /// <summary>The negotiated cipher suite, or <see langword="null"/> when the session is not TLS (or TLS was terminated before the server).</summary>
    public TlsCipherSuite? TlsCipherSuite { get; internal set; }

    /// <summary>The certificate the client presented (only asked for with <see cref="SmtpServerOptions.RequestCert"/>), or <see langword="null"/>.</summary>
    public X509Certificate2? ClientCertificate { get; internal set; }

    /// <summary>
    /// Why <see cref="ClientCertificate"/> did not validate (against <see cref="SmtpServerOptions.Ca"/> or the system's trust
    /// store): <see cref="SslPolicyErrors.RemoteCertificateNotAvailable"/> when a certificate was asked for and none came,
    /// <see cref="SslPolicyErrors.RemoteCertificateChainErrors"/> when it is not trusted, <see cref="SslPolicyErrors.None"/>
    /// when it is valid or none was asked for.
    /// </summary>
    public SslPolicyErrors ClientCertificateErrors { get; internal set; }

    /// <summary><see langword="true"/> when the client presented a certificate that validated (the reference's <c>authorized</c>).</summary>
    public bool ClientCertificateAuthorized => ClientCertificate is not null && ClientCertificateErrors == SslPolicyErrors.None;
}
