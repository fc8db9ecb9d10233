namespace Smtpd.Sink;

/// <summary>
/// Where the sink hands its certificate to Smtpd. This build of the library has no TLS options yet (they arrive with
/// the TLS work: <c>Key</c> and <c>Cert</c> as PEM text), so a certificate is refused with a clear message. With them,
/// the body of <see cref="Apply"/> becomes <c>options.Cert = certificatePem; options.Key = keyPem; return null;</c>.
/// </summary>
internal static class SinkTls
{
    /// <summary>Configures STARTTLS with the given PEM texts; returns an error message when that is not possible.</summary>
    public static string? Apply(SmtpServerOptions options, string certificatePem, string keyPem)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!certificatePem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            return "--cert: the file holds no PEM certificate";
        }

        if (!keyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            return "--key: the file holds no PEM private key";
        }

        return "STARTTLS is not available: this build of Smtpd has no TLS options yet; run the sink without --cert/--key";
    }
}
