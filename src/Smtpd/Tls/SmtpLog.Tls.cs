using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>The TLS log lines: server-wide events 5-7, connection events 301-306.</summary>
internal static partial class SmtpLog
{
    [LoggerMessage(5, LogLevel.Warning, "No TLS certificate is configured: using a self-signed certificate generated for {Name}. Clients that verify certificates will refuse it; set Key and Cert (or Certificate).")]
    public static partial void GeneratedCertificate(ILogger logger, string name);

    [LoggerMessage(301, LogLevel.Information, "[{SessionId}] TLS handshake with {RemoteAddress} failed: {Reason}")]
    public static partial void TlsFailed(ILogger logger, string sessionId, IPAddress remoteAddress, string reason);

    [LoggerMessage(302, LogLevel.Information, "[{SessionId}] TLS handshake with {RemoteAddress} not completed within {TimeoutMs} ms")]
    public static partial void TlsTimedOut(ILogger logger, string sessionId, IPAddress remoteAddress, long timeoutMs);

    [LoggerMessage(303, LogLevel.Information, "[{SessionId}] {Mode} established with {RemoteAddress}: {Protocol} {CipherSuite}, server name {ServerName}")]
    public static partial void TlsEstablished(ILogger logger, string sessionId, IPAddress remoteAddress, string mode, SslProtocols protocol, TlsCipherSuite cipherSuite, string serverName);

    [LoggerMessage(304, LogLevel.Warning, "[{SessionId}] The SNI callback failed for '{ServerName}'; the certificate falls back to SniOptions or the default")]
    public static partial void SniCallbackFailed(ILogger logger, string sessionId, string serverName, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "Ciphers: '{Entry}' names no cipher suite or keyword known here; ignored")]
    public static partial void UnknownCipherEntry(ILogger logger, string entry);

    [LoggerMessage(306, LogLevel.Warning, "[{SessionId}] Dropped {RemoteAddress}: MaxClients connections are already waiting for their TLS handshake")]
    public static partial void TooManyPendingHandshakes(ILogger logger, string sessionId, IPAddress remoteAddress);

    [LoggerMessage(7, LogLevel.Information, "TLS material replaced; new handshakes use the certificate {Subject}")]
    public static partial void TlsContextUpdated(ILogger logger, string subject);
}
