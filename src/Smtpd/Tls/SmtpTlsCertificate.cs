using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd;

/// <summary>
/// A server certificate with its private key and the intermediate certificates sent with it. Build one from PEM text
/// (<see cref="FromPem(string, string?, string?)"/>), from PEM files (<see cref="FromPemFile(string, string?, string?)"/>)
/// or from an <see cref="X509Certificate2"/> (which also converts implicitly).
/// </summary>
/// <example>
/// <code>
/// options.Certificate = SmtpTlsCertificate.FromPemFile("/etc/smtpd/mx.crt", "/etc/smtpd/mx.key");
/// options.SniOptions["mail.example.org"] = SmtpTlsCertificate.FromPemFile("/etc/smtpd/org.pem");
/// </code>
/// </example>
public sealed class SmtpTlsCertificate
{
    /// <summary>Wraps a certificate that has its private key.</summary>
    /// <param name="certificate">The server certificate, with its private key.</param>
    /// <param name="intermediates">Intermediate CA certificates to send with it, if any.</param>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    public SmtpTlsCertificate(X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"The certificate '{certificate.Subject}' has no private key; a server certificate needs one.", nameof(certificate));
        }

        Certificate = certificate;
        Intermediates = intermediates is null ? [] : [.. intermediates];
    }

    /// <summary>The server certificate (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The intermediate CA certificates sent after <see cref="Certificate"/>.</summary>
    public IReadOnlyList<X509Certificate2> Intermediates { get; }

    /// <summary>Wraps a certificate that has its private key (no intermediates).</summary>
    /// <param name="certificate">The server certificate.</param>
    public static implicit operator SmtpTlsCertificate(X509Certificate2 certificate) => FromX509Certificate2(certificate);

    /// <summary>Wraps a certificate that has its private key (no intermediates).</summary>
    /// <param name="certificate">The server certificate.</param>
    public static SmtpTlsCertificate FromX509Certificate2(X509Certificate2 certificate) => new(certificate);

    /// <summary>
    /// Loads a certificate from PEM text: <paramref name="certificatePem"/> holds the server certificate first, then
    /// any intermediates; <paramref name="keyPem"/> holds its private key (PKCS#8, PKCS#1 or SEC1; encrypted PKCS#8 with
    /// <paramref name="passphrase"/>). Without <paramref name="keyPem"/> the key is looked for in <paramref name="certificatePem"/>.
    /// </summary>
    /// <param name="certificatePem">The certificate chain, PEM encoded.</param>
    /// <param name="keyPem">The private key, PEM encoded, or <see langword="null"/> when it is part of <paramref name="certificatePem"/>.</param>
    /// <param name="passphrase">The passphrase of an encrypted (<c>ENCRYPTED PRIVATE KEY</c>) key.</param>
    /// <exception cref="ArgumentException">The text holds no certificate, no matching key, or the passphrase is wrong.</exception>
    public static SmtpTlsCertificate FromPem(string certificatePem, string? keyPem = null, string? passphrase = null) =>
        FromPem(certificatePem, keyPem, passphrase, "certificate");

    /// <summary>
    /// Loads a certificate from PEM files, as <see cref="FromPem(string, string?, string?)"/> does from text. The
    /// certificate file may also hold the key (then leave <paramref name="keyPath"/> out).
    /// </summary>
    /// <param name="certificatePath">Path of the certificate chain file.</param>
    /// <param name="keyPath">Path of the private key file, or <see langword="null"/> when the key is in the certificate file.</param>
    /// <param name="passphrase">The passphrase of an encrypted key.</param>
    /// <exception cref="ArgumentException">A file cannot be read or does not hold what is needed.</exception>
    public static SmtpTlsCertificate FromPemFile(string certificatePath, string? keyPath = null, string? passphrase = null)
    {
        ArgumentNullException.ThrowIfNull(certificatePath);
        return FromPem(ReadPemFile(certificatePath), keyPath is null ? null : ReadPemFile(keyPath), passphrase, certificatePath);
    }

    /// <summary>Reads every certificate of a PEM file (for <see cref="SmtpServerOptions.CaCertificates"/>).</summary>
    /// <param name="path">Path of a PEM file with one or more certificates.</param>
    /// <exception cref="ArgumentException">The file cannot be read or holds no certificate.</exception>
    public static X509Certificate2Collection LoadCertificatesFromPemFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ParseCertificates(ReadPemFile(path), path);
    }

    /// <summary>Every certificate of a PEM text; throws <see cref="ArgumentException"/> naming <paramref name="source"/> when there is none.</summary>
    internal static X509Certificate2Collection ParseCertificates(string pem, string source)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"{source}: the PEM text holds a certificate that cannot be read ({ex.Message}).", ex);
        }

        if (certificates.Count == 0)
        {
            throw new ArgumentException($"{source}: the PEM text holds no certificate (expected -----BEGIN CERTIFICATE-----).");
        }

        return certificates;
    }

    internal static SmtpTlsCertificate FromPem(string certificatePem, string? keyPem, string? passphrase, string source)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        X509Certificate2Collection all = ParseCertificates(certificatePem, source);
        string key = keyPem ?? certificatePem;
        X509Certificate2 leaf;
        try
        {
            leaf = passphrase is null
                ? X509Certificate2.CreateFromPem(certificatePem, key)
                : X509Certificate2.CreateFromEncryptedPem(certificatePem, key, passphrase);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException(
                $"{source}: no private key matching the first certificate could be read ({ex.Message}). An encrypted key must be PKCS#8 (ENCRYPTED PRIVATE KEY) with its passphrase.", ex);
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use the ephemeral key of a PEM import; a PKCS#12 round trip gives it a persisted one.
            X509Certificate2 ephemeral = leaf;
            leaf = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            ephemeral.Dispose();
        }

        return new SmtpTlsCertificate(leaf, all.Skip(1));
    }

    private static string ReadPemFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{path}: cannot be read ({ex.Message}).", ex);
        }
    }
}
