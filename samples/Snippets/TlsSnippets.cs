using System.Security.Cryptography.X509Certificates;
using Smtpd;

namespace Snippets;

public static class TlsSnippets
{
    /// <summary>docs/tls.md, Certificates: each way of giving the server its certificate.</summary>
    public static SmtpServerOptions Certificates(string certFile, string keyFile, string pfxFile, string password, string clientCaFile)
    {
        var options = new SmtpServerOptions();
        #region certificates
        // PEM text
        options.Cert = File.ReadAllText(certFile);   // leaf + intermediates
        options.Key = File.ReadAllText(keyFile);

        // or PEM files in one call (the key may also sit in the certificate file)
        options.Certificate = SmtpTlsCertificate.FromPemFile(certFile, keyFile);

        // or an X509Certificate2 with its private key
        options.Certificate = X509CertificateLoader.LoadPkcs12FromFile(pfxFile, password);

        // CA files for client certificates
        options.Ca = [File.ReadAllText(clientCaFile)];
        options.CaCertificates = SmtpTlsCertificate.LoadCertificatesFromPemFile(clientCaFile);
        #endregion
        return options;
    }

    /// <summary>docs/tls.md, Replacing certificates while running.</summary>
    public static void Renew(SmtpServer server, string certFile, string keyFile, string otherDomainPemFile)
    {
        #region renew
        server.UpdateSecureContext(o =>
        {
            o.Cert = File.ReadAllText(certFile);
            o.Key = File.ReadAllText(keyFile);
            o.SniOptions["mail.example.org"] = SmtpTlsCertificate.FromPemFile(otherDomainPemFile);
        });
        #endregion
    }
}
