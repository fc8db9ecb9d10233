using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd.Tests.Tls;

/// <summary>
/// Certificates made for the TLS tests at run time (ECDSA P-256, fast to generate): two unrelated CAs, an
/// intermediate, server certificates for several names and client certificates. Nothing is read from or written to
/// the repository; <see cref="WriteFiles"/> puts PEM files into a temporary folder for openssl and python.
/// </summary>
public sealed class TestPki
{
    private static readonly Lazy<TestPki> Instance = new(() => new TestPki());
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private TestPki()
    {
        Ca = CreateCa("CN=Smtpd Test Root CA");
        OtherCa = CreateCa("CN=Smtpd Other Root CA");
        Intermediate = Issue("CN=Smtpd Test Intermediate CA", Ca, isCa: true);
        Server = Issue("CN=mx.test", Ca, dnsNames: ["mx.test", "localhost"]);
        Alt = Issue("CN=alt.example", Ca, dnsNames: ["alt.example"]);
        Other = Issue("CN=b.example", Ca, dnsNames: ["b.example"]);
        Chained = Issue("CN=chained.example", Intermediate, dnsNames: ["chained.example"]);
        Client = Issue("CN=client.example", Ca, clientAuth: true);
        UntrustedClient = Issue("CN=stranger.example", OtherCa, clientAuth: true);
    }

    public static TestPki Shared => Instance.Value;

    public X509Certificate2 Ca { get; }

    public X509Certificate2 OtherCa { get; }

    public X509Certificate2 Intermediate { get; }

    /// <summary>CN=mx.test, issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Server { get; }

    /// <summary>CN=alt.example, issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Alt { get; }

    /// <summary>CN=b.example, issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Other { get; }

    /// <summary>CN=chained.example, issued by <see cref="Intermediate"/>.</summary>
    public X509Certificate2 Chained { get; }

    /// <summary>A client certificate issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Client { get; }

    /// <summary>A client certificate issued by <see cref="OtherCa"/>.</summary>
    public X509Certificate2 UntrustedClient { get; }

    public static string CertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem() + "\n";

    public static string KeyPem(X509Certificate2 certificate) => certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n";

    public static string EncryptedKeyPem(X509Certificate2 certificate, string passphrase) =>
        certificate.GetECDsaPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem(passphrase,
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)) + "\n";

    /// <summary>Writes <c>name.crt</c> and <c>name.key</c> for each certificate into <paramref name="folder"/>.</summary>
    public static void WriteFiles(string folder, params (string Name, X509Certificate2 Certificate)[] entries)
    {
        foreach ((string name, X509Certificate2 certificate) in entries)
        {
            File.WriteAllText(Path.Combine(folder, name + ".crt"), CertificatePem(certificate));
            if (certificate.HasPrivateKey)
            {
                File.WriteAllText(Path.Combine(folder, name + ".key"), KeyPem(certificate));
            }
        }
    }

    private static X509Certificate2 CreateCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
    }

    private static X509Certificate2 Issue(string subject, X509Certificate2 issuer, bool isCa = false, string[]? dnsNames = null, bool clientAuth = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            isCa ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign : X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (!isCa)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid(clientAuth ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], false));
        }

        if (dnsNames is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (string name in dnsNames)
            {
                names.AddDnsName(name);
            }

            request.CertificateExtensions.Add(names.Build());
        }

        byte[] serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using X509Certificate2 issued = request.Create(issuer, Now.AddDays(-1), isCa ? Now.AddDays(29) : Now.AddDays(28), serial);
        return issued.CopyWithPrivateKey(key);
    }
}
