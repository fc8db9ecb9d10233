using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>TLS of a connection: implicit TLS, the delayed upgrade, STARTTLS, and the secure handler.</summary>
internal sealed partial class SmtpConnection
{
    private TlsContext? _tlsContext;
    private string? _tlsServerName;
    private SslPolicyErrors _clientCertificateErrors;
    private volatile bool _inPendingHandshake;

    /// <summary>STARTTLS can work on this server (a certificate is prepared).</summary>
    private bool IsStartTlsAvailable => _server.Tls is not null;

    /// <summary>From <see cref="SmtpServer.CloseAsync(CancellationToken)"/>: drops the connection if it still waits for its implicit TLS handshake.</summary>
    public void AbortPendingHandshake()
    {
        if (_inPendingHandshake)
        {
            Abort();
        }
    }

    /// <summary>Before the session: takes over a caller's TLS stream, marks <c>Secured</c> sessions, or does the implicit TLS handshake.</summary>
    private async ValueTask<bool> StartImplicitTlsAsync()
    {
        if (_stream is SslStream { IsAuthenticated: true } given)
        {
            // HandleStreamAsync with TLS the caller already negotiated.
            _tlsServerName = TlsContext.NormalizeServerName(given.TargetHostName);
            MarkSecure(given);
            return true;
        }

        if (_options.Secured)
        {
            Session.Secure = true;
            return true;
        }

        if (!_options.Secure || _options.NeedsUpgrade)
        {
            return true;
        }

        if (!_server.TryBeginPendingHandshake())
        {
            _metrics.ConnectionRefused("max_clients");
            SmtpLog.TooManyPendingHandshakes(_logger, Session.Id, Session.RemoteAddress);
            return false;
        }

        _inPendingHandshake = true;
        try
        {
            // A close that started before the flag was visible would not have aborted this connection.
            return !_server.IsClosing && await HandshakeAsync(startTls: false);
        }
        finally
        {
            _inPendingHandshake = false;
            _server.EndPendingHandshake();
        }
    }

    /// <summary>After the connect handler, before the greeting: the delayed upgrade (<c>NeedsUpgrade</c>), then the secure handler for secure sessions.</summary>
    private async ValueTask<bool> SecureSessionAsync()
    {
        if (_options.Secure && _options.NeedsUpgrade && !Session.Secure && !_options.Secured)
        {
            bool watchingEarlyTalkers = _earlyRead is not null;
            if (!await HandshakeAsync(startTls: false))
            {
                return false;
            }

            if (watchingEarlyTalkers)
            {
                // Keep answering "You talk too soon" to what arrives inside TLS before the greeting.
                _inCommandRead = true;
                _earlyRead = _reader.ReadAsync().AsTask();
            }
        }

        return !Session.Secure || await RunSecureHandlerAsync(enhanced: false);
    }

    /// <summary>The STARTTLS command.</summary>
    private ValueTask<Outcome> StartTls(ReadOnlySpan<byte> arguments)
    {
        if (!IsBlank(arguments))
        {
            return Reply(501, "5.5.4", "Error: syntax: STARTTLS");
        }

        if (Session.Secure)
        {
            return Reply(503, "5.5.1", "Error: TLS already active");
        }

        if (_server.Tls is null)
        {
            // Only reachable when the session re-enabled STARTTLS on a server that disabled it and has no certificate.
            return Reply(454, "4.7.0", "TLS not available due to temporary reason");
        }

        ReplyWriter.Write(_writer, 220, _replies.Enhanced ? "2.0.0" : null, "Ready to start TLS");
        _pendingFlush = true;
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(_logger, Session.Id, "220 Ready to start TLS");
        }

        return new(Outcome.StartTls);
    }

    /// <summary>
    /// After the 220 to STARTTLS went out and every plaintext byte behind the command was dropped: the handshake, the full
    /// reset of RFC 3207 (user, HELO name, opening command, envelope), then the secure handler.
    /// </summary>
    private async ValueTask<bool> UpgradeToTlsAsync()
    {
        if (!await HandshakeAsync(startTls: true))
        {
            return false;
        }

        Session.User = null;
        Session.HostNameAppearsAs = null;
        Session.OpeningCommand = null;
        ResetSession();
        return await RunSecureHandlerAsync(enhanced: true);
    }

    /// <summary>Runs the secure handler; a refusal is answered (with an enhanced code only after STARTTLS) and the connection closed.</summary>
    private async ValueTask<bool> RunSecureHandlerAsync(bool enhanced)
    {
        SmtpResult result = await InvokeHandlerAsync(static (c, ct) => c._server.InvokeSecureAsync(c.Session, ct), "secure", 554);
        if (result.IsAccepted)
        {
            return true;
        }

        WriteResult(result, enhanced);
        _metrics.ConnectionRefused("secure_handler");
        SmtpLog.Refused(_logger, Session.Id, Session.RemoteAddress, $"secure handler: {result.Code} {result.Message}");
        await CloseGracefullyAsync();
        return false;
    }

    /// <summary>
    /// The server side of a TLS handshake on the current transport, bounded by the socket timeout (the heartbeat aborts
    /// the connection when it expires). On success the reader and writer run over TLS and the session carries the details.
    /// </summary>
    private async ValueTask<bool> HandshakeAsync(bool startTls)
    {
        TlsContext? context = _server.Tls;
        if (context is null)
        {
            SmtpLog.TlsFailed(_logger, Session.Id, Session.RemoteAddress, "no certificate is configured");
            return false;
        }

        _tlsContext = context;
        _clientCertificateErrors = context.RequestCert ? SslPolicyErrors.RemoteCertificateNotAvailable : SslPolicyErrors.None;
        long started = Stopwatch.GetTimestamp();
        Arm(SocketTimeoutMs, PhaseAbort);
        SslStream ssl;
        try
        {
            Stream transport = _stream;
            if (!startTls && await TakeBufferedBytesAsync() is { } prefix)
            {
                transport = new PrefixedReadStream(prefix, _stream);
            }

            await _reader.CompleteAsync();
            await _writer.CompleteAsync();
            ssl = new SslStream(transport, leaveInnerStreamOpen: false);
            _stream = ssl;
            await ssl.AuthenticateAsServerAsync(
                static (_, hello, state, ct) => ((SmtpConnection)state!).SelectServerOptionsAsync(hello, ct), this, AbortToken);
            if (context.RequestCert && context.RejectUnauthorized && ssl.RemoteCertificate is null)
            {
                throw new AuthenticationException("The client sent no certificate.");
            }
        }
        catch (Exception ex)
        {
            Disarm();
            _metrics.TlsHandshake(started, null, _timedOut ? "timeout" : ex.GetType().Name);
            if (!startTls)
            {
                _metrics.ConnectionRefused("tls_handshake");
            }

            if (_timedOut)
            {
                SmtpLog.TlsTimedOut(_logger, Session.Id, Session.RemoteAddress, SocketTimeoutMs);
            }
            else
            {
                SmtpLog.TlsFailed(_logger, Session.Id, Session.RemoteAddress, ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message);
            }

            return false;
        }

        Disarm();
        _reader = NewReader(ssl);
        _writer = new ConnectionWriter(ssl);
        MarkSecure(ssl);
        _metrics.TlsHandshake(started, ProtocolVersion(ssl.SslProtocol), null);
        SmtpLog.TlsEstablished(_logger, Session.Id, Session.RemoteAddress, startTls ? "STARTTLS" : "implicit TLS", ssl.SslProtocol, ssl.NegotiatedCipherSuite, _tlsServerName ?? "-");
        return true;
    }

    /// <summary>The OpenTelemetry <c>tls.protocol.version</c> of <paramref name="protocol"/>.</summary>
    private static string ProtocolVersion(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "1.3",
        SslProtocols.Tls12 => "1.2",
        _ => protocol.ToString(),
    };

    /// <summary>Bytes the plaintext reader already took off the transport (after a PROXY header, or during the greeting pause).</summary>
    private async ValueTask<byte[]?> TakeBufferedBytesAsync()
    {
        ReadResult result;
        if (_earlyRead is not null)
        {
            result = await _earlyRead;
            _earlyRead = null;
            _inCommandRead = false;
        }
        else if (!_reader.TryRead(out result))
        {
            return null;
        }

        byte[]? bytes = result.Buffer.IsEmpty ? null : result.Buffer.ToArray();
        _reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }

    private async ValueTask<SslServerAuthenticationOptions> SelectServerOptionsAsync(SslClientHelloInfo hello, CancellationToken cancellationToken)
    {
        TlsContext context = _tlsContext!;
        _tlsServerName = TlsContext.NormalizeServerName(hello.ServerName);
        SslStreamCertificateContext certificate = await context.SelectAsync(_tlsServerName, OnSniCallbackFailed, cancellationToken);
        return context.CreateServerOptions(certificate, ValidateClientCertificate);
    }

    private void OnSniCallbackFailed(Exception exception) => SmtpLog.SniCallbackFailed(_logger, Session.Id, _tlsServerName ?? "", exception);

    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        TlsContext context = _tlsContext!;
        _clientCertificateErrors = context.ValidateClientCertificate(certificate, chain, errors);
        return !context.RejectUnauthorized || _clientCertificateErrors == SslPolicyErrors.None;
    }

    private void MarkSecure(SslStream ssl)
    {
        Session.Secure = true;
        Session.ServerName = _tlsServerName;
        Session.TlsProtocol = ssl.SslProtocol;
        Session.TlsCipherSuite = ssl.NegotiatedCipherSuite;
        if (ssl.RemoteCertificate is { } remote)
        {
            Session.ClientCertificate = remote as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        }

        Session.ClientCertificateErrors = _tlsContext?.RequestCert == true ? _clientCertificateErrors : SslPolicyErrors.None;
    }

    /// <summary>Before the FIN of a graceful close: the TLS close_notify, so clients see a clean end of the TLS session.</summary>
    private async ValueTask ShutdownTlsAsync()
    {
        if (_stream is SslStream { IsAuthenticated: true } ssl)
        {
            // Bounded like every write: a client that stopped reading cannot hold the close up.
            Arm(SocketTimeoutMs, PhaseAbort);
            try
            {
                await ssl.ShutdownAsync();
            }
            finally
            {
                Disarm();
            }
        }
    }
}
