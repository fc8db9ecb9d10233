using System.Net;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// Every log line of the engine, source-generated with stable event ids. Each connection line starts with the
/// session id in brackets. Credentials never appear: AUTH lines are logged redacted.
/// </summary>
internal static partial class SmtpLog
{
    [LoggerMessage(1, LogLevel.Information, "SMTP server listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(2, LogLevel.Information, "SMTP server closing with {Count} open connection(s), waiting {Seconds} s before closing them")]
    public static partial void Closing(ILogger logger, int count, double seconds);

    [LoggerMessage(3, LogLevel.Information, "SMTP server closed")]
    public static partial void Closed(ILogger logger);

    [LoggerMessage(4, LogLevel.Warning, "Accepting a connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Information, "Accepting at most {Cap} connections for the limit of {Limit} file descriptors, at most {PerClient} per client address (0: no limit)")]
    public static partial void ConnectionCaps(ILogger logger, int cap, long limit, int perClient);

    [LoggerMessage(9, LogLevel.Warning, "Refusing new connections with 421: {Count} connections reach the cap of {Cap} the file descriptor limit leaves room for")]
    public static partial void DescriptorCapReached(ILogger logger, int count, int cap);

    [LoggerMessage(24, LogLevel.Warning, "Accepting connections again: {Count} connections, below the descriptor cap of {Cap}")]
    public static partial void DescriptorCapRecovered(ILogger logger, int count, int cap);

    [LoggerMessage(25, LogLevel.Warning, "Accepting connections fails for want of file descriptors; retrying until some are free")]
    public static partial void AcceptOutOfDescriptors(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Information, "[{SessionId}] Connection from {ClientHostname} ({RemoteAddress}:{RemotePort}) to {LocalAddress}:{LocalPort}")]
    public static partial void Connected(ILogger logger, string sessionId, string clientHostname, IPAddress remoteAddress, int remotePort, IPAddress localAddress, int localPort);

    [LoggerMessage(11, LogLevel.Information, "[{SessionId}] Connection closed to {ClientHostname} ({RemoteAddress}) after {Transactions} transaction(s), {DurationMs} ms")]
    public static partial void Disconnected(ILogger logger, string sessionId, string clientHostname, IPAddress remoteAddress, int transactions, long durationMs);

    [LoggerMessage(12, LogLevel.Warning, "[{SessionId}] Refused {RemoteAddress}: {Reason}")]
    public static partial void Refused(ILogger logger, string sessionId, IPAddress remoteAddress, string reason);

    [LoggerMessage(13, LogLevel.Debug, "[{SessionId}] C: {Command}")]
    public static partial void Command(ILogger logger, string sessionId, string command);

    [LoggerMessage(14, LogLevel.Debug, "[{SessionId}] S: {Reply}")]
    public static partial void Reply(ILogger logger, string sessionId, string reply);

    [LoggerMessage(15, LogLevel.Error, "[{SessionId}] The {Handler} handler failed")]
    public static partial void HandlerFailed(ILogger logger, string sessionId, string handler, Exception exception);

    [LoggerMessage(16, LogLevel.Information, "[{SessionId}] Idle for {TimeoutMs} ms, closing {RemoteAddress}")]
    public static partial void TimedOut(ILogger logger, string sessionId, long timeoutMs, IPAddress remoteAddress);

    [LoggerMessage(17, LogLevel.Debug, "[{SessionId}] Reverse DNS of {RemoteAddress} failed")]
    public static partial void ReverseDnsFailed(ILogger logger, string sessionId, IPAddress remoteAddress, Exception? exception);

    [LoggerMessage(18, LogLevel.Information, "[{SessionId}] Message from <{Sender}> to {RecipientCount} recipient(s) <{Recipients}>, {Size} bytes, {DurationMs} ms: {Result}")]
    public static partial void Transaction(ILogger logger, string sessionId, string sender, int recipientCount, string recipients, long size, long durationMs, string result);

    [LoggerMessage(19, LogLevel.Information, "[{SessionId}] Connection from {RemoteAddress} failed: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, string sessionId, IPAddress remoteAddress, string reason);

    [LoggerMessage(20, LogLevel.Warning, "[{SessionId}] {Message}")]
    public static partial void ClientMisbehaved(ILogger logger, string sessionId, string message);

    [LoggerMessage(22, LogLevel.Information, "[{SessionId}] Command line not complete within {TimeoutMs} ms, closing {RemoteAddress}")]
    public static partial void CommandTimedOut(ILogger logger, string sessionId, long timeoutMs, IPAddress remoteAddress);

    [LoggerMessage(23, LogLevel.Information, "[{SessionId}] Message arriving below {MinDataRate} bytes/s after {Size} bytes, closing {RemoteAddress}")]
    public static partial void TooSlow(ILogger logger, string sessionId, IPAddress remoteAddress, long size, int minDataRate);

    [LoggerMessage(21, LogLevel.Debug, "[{SessionId}] <received {Size} bytes>")]
    public static partial void DefaultDataHandler(ILogger logger, string sessionId, long size);
}
