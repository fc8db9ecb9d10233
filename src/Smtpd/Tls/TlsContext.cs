using System.Globalization;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd;

/// <summary>
/// Everything a handshake needs, built once from the options (and again by <see cref="SmtpServer.UpdateSecureContext"/>):
/// the prepared default and per-name certificates, the SNI callback, the cipher policy, the TLS versions and the
/// client-certificate rules. Immutable; a connection takes the current one when its handshake starts.
/// </summary>
internal sealed class TlsContext
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");
    private static readonly IdnMapping Idn = new();

    private readonly SslStreamCertificateContext _default;
    private readonly Dictionary<string, SslStreamCertificateContext> _byName;
    private readonly Func<string, CancellationToken, ValueTask<SmtpTlsCertificate?>>? _sniCallback;
    private readonly ConditionalWeakTable<SmtpTlsCertificate, SslStreamCertificateContext> _callbackContexts = [];
    private readonly X509Certificate2Collection? _trustedCa;
    private readonly SslCertificateTrust? _trust;
    private readonly CipherSuitesPolicy? _cipherPolicy;
    private readonly X509Certificate2[] _chainHelpers;

    private TlsContext(SmtpServerOptions options, SmtpTlsCertificate certificate, bool generated)
    {
        DefaultCertificate = certificate;
        IsGenerated = generated;
        RequestCert = options.RequestCert;
        RejectUnauthorized = options.RejectUnauthorized;
        SslProtocols protocols = options.SslProtocols;
        UnknownCipherEntries = [];
        if (options.Ciphers is not null)
        {
            List<TlsCipherSuite> suites = OpenSslCipherTable.Parse(options.Ciphers, out List<string> unknown);
            UnknownCipherEntries = unknown;
            if (suites.Count == 0)
            {
                throw new ArgumentException($"Ciphers '{options.Ciphers}' selects no cipher suite.", nameof(options));
            }

            // As Node.js: no TLS 1.3 suite listed turns TLS 1.3 off, only TLS 1.3 suites turn the older versions off.
            if (!suites.Exists(OpenSslCipherTable.IsTls13))
            {
                protocols = protocols == SslProtocols.None ? SslProtocols.Tls12 : protocols ^ (protocols & SslProtocols.Tls13);
            }

            if (suites.TrueForAll(OpenSslCipherTable.IsTls13))
            {
                protocols = protocols == SslProtocols.None ? SslProtocols.Tls13 : protocols & SslProtocols.Tls13;
            }

            if (protocols == SslProtocols.None)
            {
                throw new ArgumentException($"Ciphers '{options.Ciphers}' selects no suite of the TLS versions in SslProtocols ({options.SslProtocols}).", nameof(options));
            }

            if (OperatingSystem.IsWindows())
            {
                throw new PlatformNotSupportedException("Ciphers needs a CipherSuitesPolicy, which Windows does not support; leave Ciphers null there.");
            }

            _cipherPolicy = new CipherSuitesPolicy(suites);
        }

        Protocols = protocols;
        var ca = new X509Certificate2Collection();
        foreach (string pem in options.Ca)
        {
            ca.AddRange(SmtpTlsCertificate.ParseCertificates(pem, "Ca"));
        }

        if (options.CaCertificates is not null)
        {
            ca.AddRange(options.CaCertificates);
        }

        if (ca.Count > 0)
        {
            _trustedCa = ca;
            _trust = SslCertificateTrust.CreateForX509Collection(ca, sendTrustInHandshake: OperatingSystem.IsLinux());
        }

        _chainHelpers = [.. ca];
        _default = Prepare(certificate);
        _byName = new Dictionary<string, SslStreamCertificateContext>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, SmtpTlsCertificate> entry in options.SniOptions)
        {
            string name = NormalizeServerName(entry.Key) ?? throw new ArgumentException("SniOptions has an empty server name.", nameof(options));
            _byName[name] = Prepare(entry.Value);
        }

        _sniCallback = options.SniCallback;
    }

    /// <summary>The certificate given to clients without a (known) server name.</summary>
    public SmtpTlsCertificate DefaultCertificate { get; }

    /// <summary><see langword="true"/> when <see cref="DefaultCertificate"/> was generated because none was configured.</summary>
    public bool IsGenerated { get; }

    /// <summary>The TLS versions offered (narrowed by the cipher list).</summary>
    public SslProtocols Protocols { get; }

    public bool RequestCert { get; }

    public bool RejectUnauthorized { get; }

    /// <summary>Entries of <see cref="SmtpServerOptions.Ciphers"/> that named nothing known (logged at start).</summary>
    public IReadOnlyList<string> UnknownCipherEntries { get; }

    /// <summary>
    /// Builds the context, or returns <see langword="null"/> when this server never does a handshake itself
    /// (<see cref="SmtpServerOptions.Secured"/>, or no implicit TLS and STARTTLS disabled) and no certificate is configured.
    /// </summary>
    /// <exception cref="ArgumentException">The TLS material cannot be used.</exception>
    public static TlsContext? Create(SmtpServerOptions options)
    {
        SmtpTlsCertificate? configured = options.Certificate
            ?? (options.Cert is not null ? SmtpTlsCertificate.FromPem(options.Cert, options.Key, options.Passphrase, "Cert/Key") : null);
        if (configured is not null)
        {
            return new TlsContext(options, configured, generated: false);
        }

        bool startTlsDisabled = options.DisabledCommands.Any(c => string.Equals(c?.Trim(), "STARTTLS", StringComparison.OrdinalIgnoreCase));
        bool handshakes = !options.Secured && (options.Secure || !startTlsDisabled);
        return handshakes ? new TlsContext(options, SelfSignedCertificate.For(options.Name), generated: true) : null;
    }

    /// <summary>The server name as SNI entries are keyed: trimmed, without a final dot, punycode as Unicode, lower case.</summary>
    public static string? NormalizeServerName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        name = name.Trim().TrimEnd('.');
        if (name.Contains("xn--", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                name = Idn.GetUnicode(name);
            }
            catch (ArgumentException)
            {
                // Not valid punycode: matched as written.
            }
        }

        return name.Length == 0 ? null : name.ToLowerInvariant();
    }

    /// <summary>The prepared certificate for <paramref name="serverName"/>: the SNI callback's, else the SNI table's, else the default.</summary>
    public async ValueTask<SslStreamCertificateContext> SelectAsync(string? serverName, Action<Exception> callbackFailed, CancellationToken cancellationToken)
    {
        if (serverName is null)
        {
            return _default;
        }

        if (_sniCallback is not null)
        {
            try
            {
                SmtpTlsCertificate? chosen = await _sniCallback(serverName, cancellationToken);
                if (chosen is not null)
                {
                    return _callbackContexts.GetValue(chosen, Prepare);
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                callbackFailed(ex);
            }
        }

        return _byName.TryGetValue(serverName, out SslStreamCertificateContext? context) ? context : _default;
    }

    /// <summary>The options of one handshake with <paramref name="certificate"/>.</summary>
    public SslServerAuthenticationOptions CreateServerOptions(SslStreamCertificateContext certificate, RemoteCertificateValidationCallback validation)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate,
            EnabledSslProtocols = Protocols,
            ClientCertificateRequired = RequestCert,
            RemoteCertificateValidationCallback = RequestCert ? validation : null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,

            // A resumed session skips the client-certificate request and validation (and its ticket may come from a
            // session made under another policy), so with client certificates every handshake is a full one.
            AllowTlsResume = !RequestCert,
        };
        if (_cipherPolicy is not null && !OperatingSystem.IsWindows())
        {
            options.CipherSuitesPolicy = _cipherPolicy;
        }

        return options;
    }

    /// <summary>
    /// Validates a client certificate: against <see cref="SmtpServerOptions.Ca"/> when given (custom root trust, no
    /// revocation check, no downloads, client-authentication usage), else as the platform did against the system store.
    /// </summary>
    public SslPolicyErrors ValidateClientCertificate(X509Certificate? certificate, X509Chain? platformChain, SslPolicyErrors platformErrors)
    {
        if (certificate is null)
        {
            return SslPolicyErrors.RemoteCertificateNotAvailable;
        }

        if (_trustedCa is null)
        {
            return platformErrors & ~SslPolicyErrors.RemoteCertificateNameMismatch;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trustedCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        if (platformChain is not null)
        {
            // The intermediates the client sent.
            chain.ChainPolicy.ExtraStore.AddRange(platformChain.ChainPolicy.ExtraStore);
            foreach (X509ChainElement element in platformChain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        X509Certificate2? loaded = certificate as X509Certificate2 is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        try
        {
            return chain.Build(loaded ?? (X509Certificate2)certificate) ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors;
        }
        finally
        {
            loaded?.Dispose();
        }
    }

    private SslStreamCertificateContext Prepare(SmtpTlsCertificate certificate)
    {
        var additional = new X509Certificate2Collection();
        foreach (X509Certificate2 intermediate in certificate.Intermediates)
        {
            additional.Add(intermediate);
        }

        additional.AddRange(_chainHelpers);
        try
        {
            return SslStreamCertificateContext.Create(certificate.Certificate, additional, offline: true, _trust);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"The certificate '{certificate.Certificate.Subject}' cannot be used for TLS ({ex.Message}).", ex);
        }
    }
}
