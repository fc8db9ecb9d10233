using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// One server-side TLS handshake (implicit TLS, the delayed upgrade, STARTTLS) with the server's current
/// <see cref="TlsContext"/>: the certificate chosen by SNI, the client certificate checked, the outcome counted and
/// logged; on success the session is secure and carries the details. An object exists only while a handshake runs.
/// </summary>
internal sealed class TlsHandshake
{
    private readonly TlsContext _context;
    private readonly SmtpSession _session;
    private readonly ILogger _logger;
    private string? _serverName;
    private SslPolicyErrors _clientCertificateErrors;

    private TlsHandshake(TlsContext context, SmtpSession session, ILogger logger)
    {
        _context = context;
        _session = session;
        _logger = logger;
        _clientCertificateErrors = context.RequestCert ? SslPolicyErrors.RemoteCertificateNotAvailable : SslPolicyErrors.None;
    }

    /// <summary>
    /// Before the session: takes over a caller's TLS stream, marks <see cref="SmtpServerOptions.Secured"/> sessions, or
    /// does the implicit TLS handshake of the endpoint (unless <see cref="SmtpServerOptions.NeedsUpgrade"/> delays it to the
    /// greeting). Connections waiting for their handshake are capped by <see cref="SmtpServerOptions.MaxClients"/> and
    /// dropped by a close. <see langword="false"/> drops the connection.
    /// </summary>
    public static async ValueTask<bool> StartImplicitAsync(ConnectionTransport transport, EndpointContext endpoint, SmtpSession session, ILogger logger)
    {
        ServerContext server = endpoint.Server;
        if (transport.Stream is SslStream { IsAuthenticated: true } given)
        {
            // HandleStreamAsync with TLS the caller already negotiated.
            MarkSecure(session, given, TlsContext.NormalizeServerName(given.TargetHostName), SslPolicyErrors.None);
            return true;
        }

        if (endpoint.Options.Secured)
        {
            session.Secure = true;
            return true;
        }

        if (endpoint.TlsMode != SmtpTlsMode.Implicit || endpoint.Options.NeedsUpgrade)
        {
            return true;
        }

        if (!server.Connections.TryBeginHandshake())
        {
            server.Metrics.ConnectionRefused("max_clients", session);
            SmtpLog.TooManyPendingHandshakes(logger, session.Id, session.RemoteAddress);
            return false;
        }

        transport.IsSettingUp = true;
        try
        {
            // A close that started before the mark was visible would not have aborted this connection.
            return !server.IsClosing && await RunAsync(transport, server, session, logger, TakeBuffered(transport), startTls: false);
        }
        finally
        {
            transport.IsSettingUp = false;
            server.Connections.EndHandshake();
        }
    }

    /// <summary>
    /// Runs the handshake over <paramref name="transport"/> (after <paramref name="prefix"/>, bytes the plaintext reader
    /// already took), bounded by the socket timeout. <see langword="false"/> when it failed (counted and logged).
    /// </summary>
    public static async ValueTask<bool> RunAsync(ConnectionTransport transport, ServerContext server, SmtpSession session, ILogger logger, byte[]? prefix, bool startTls)
    {
        if (server.Tls is not { } context)
        {
            SmtpLog.TlsFailed(logger, session.Id, session.RemoteAddress, "no certificate is configured");
            return false;
        }

        var handshake = new TlsHandshake(context, session, logger);
        long started = Stopwatch.GetTimestamp();
        SslStream ssl;
        try
        {
            ssl = await transport.UpgradeToTlsAsync(prefix, static (_, hello, state, ct) => ((TlsHandshake)state!).SelectServerOptionsAsync(hello, ct), handshake);
            if (context.RequestCert && context.RejectUnauthorized && ssl.RemoteCertificate is null)
            {
                throw new AuthenticationException("The client sent no certificate.");
            }
        }
        catch (Exception ex)
        {
            bool timedOut = transport.Timeouts.TimedOut;
            server.Metrics.TlsHandshake(started, null, timedOut ? "timeout" : ex.GetType().Name);
            if (!startTls)
            {
                server.Metrics.ConnectionRefused("tls_handshake", session);
            }

            if (timedOut)
            {
                SmtpLog.TlsTimedOut(logger, session.Id, session.RemoteAddress, transport.TimeoutMs);
            }
            else
            {
                SmtpLog.TlsFailed(logger, session.Id, session.RemoteAddress, ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message);
            }

            return false;
        }

        MarkSecure(session, ssl, handshake._serverName, context.RequestCert ? handshake._clientCertificateErrors : SslPolicyErrors.None);
        server.Metrics.TlsHandshake(started, ProtocolVersion(ssl.SslProtocol), null);
        SmtpLog.TlsEstablished(logger, session.Id, session.RemoteAddress, startTls ? "STARTTLS" : "implicit TLS", ssl.SslProtocol, ssl.NegotiatedCipherSuite, handshake._serverName ?? "-");
        return true;
    }

    /// <summary>The session runs over <paramref name="ssl"/>: secure, with the server name, the TLS version and suite, the client certificate.</summary>
    public static void MarkSecure(SmtpSession session, SslStream ssl, string? serverName, SslPolicyErrors clientCertificateErrors)
    {
        session.Secure = true;
        session.ServerName = serverName;
        session.TlsProtocol = ssl.SslProtocol;
        session.TlsCipherSuite = ssl.NegotiatedCipherSuite;
        if (ssl.RemoteCertificate is { } remote)
        {
            session.ClientCertificate = remote as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        }

        session.ClientCertificateErrors = clientCertificateErrors;
    }

    /// <summary>Bytes the plaintext reader already took off the transport (none, unless a caller's stream had some): they open the handshake.</summary>
    private static byte[]? TakeBuffered(ConnectionTransport transport) =>
        transport.Reader.TryRead(out System.IO.Pipelines.ReadResult result) ? transport.TakeBuffered(result) : null;

    /// <summary>The OpenTelemetry <c>tls.protocol.version</c> of <paramref name="protocol"/>.</summary>
    private static string ProtocolVersion(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "1.3",
        SslProtocols.Tls12 => "1.2",
        _ => protocol.ToString(),
    };

    private async ValueTask<SslServerAuthenticationOptions> SelectServerOptionsAsync(SslClientHelloInfo hello, CancellationToken cancellationToken)
    {
        _serverName = TlsContext.NormalizeServerName(hello.ServerName);
        SslStreamCertificateContext certificate = await _context.SelectAsync(_serverName, OnSniCallbackFailed, cancellationToken);
        return _context.CreateServerOptions(certificate, ValidateClientCertificate);
    }

    private void OnSniCallbackFailed(Exception exception) => SmtpLog.SniCallbackFailed(_logger, _session.Id, _serverName ?? "", exception);

    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        _clientCertificateErrors = _context.ValidateClientCertificate(certificate, chain, errors);
        return !_context.RejectUnauthorized || _clientCertificateErrors == SslPolicyErrors.None;
    }
}
