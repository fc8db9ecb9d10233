using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd;

/// <summary>
/// The certificate a server uses when none was configured: RSA 2048, self-signed for the server name, valid from a
/// day ago for a year, generated in memory (never written anywhere). Servers of one process with the same name share
/// it, so tests and multi-listener hosts pay the key generation once.
/// </summary>
internal static class SelfSignedCertificate
{
    private static readonly ConcurrentDictionary<string, Lazy<SmtpTlsCertificate>> Cache = new(StringComparer.OrdinalIgnoreCase);

    public static SmtpTlsCertificate For(string name) =>
        Cache.GetOrAdd(name, static n => new Lazy<SmtpTlsCertificate>(() => Generate(n), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private static SmtpTlsCertificate Generate(string name)
    {
        using var key = RSA.Create(2048);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(name);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        var names = new SubjectAlternativeNameBuilder();
        try
        {
            names.AddDnsName(name);
            request.CertificateExtensions.Add(names.Build());
        }
        catch (ArgumentException)
        {
            // Not a DNS name (e.g. a host name with characters IDNA refuses): the common name has to do.
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        X509Certificate2 certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        if (OperatingSystem.IsWindows())
        {
            // SChannel needs a persisted key; a PKCS#12 round trip gives it one.
            X509Certificate2 ephemeral = certificate;
            certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            ephemeral.Dispose();
        }

        return new SmtpTlsCertificate(certificate);
    }
}
