using System.Net;
using Microsoft.Extensions.Logging;

namespace Smtpd.Server;

/// <summary>The program's own log lines (the library logs under its <c>component</c> category when <c>logger</c> is true).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "Listening on {EndPoint}, storing messages in {Store}")]
    public static partial void Listening(ILogger logger, EndPoint endPoint, string store);

    [LoggerMessage(2, LogLevel.Information, "Stopping: the listener is closed, open sessions end within {CloseTimeoutMs} ms")]
    public static partial void Stopping(ILogger logger, double closeTimeoutMs);

    [LoggerMessage(3, LogLevel.Information, "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(4, LogLevel.Warning, "[{SessionId}] Cannot store the message, answered 451: {Reason}")]
    public static partial void StoreFailed(ILogger logger, string sessionId, string reason);

    /// <summary>One line per message whose data arrived: accepted (stored), refused (too big) or deferred (the store failed).</summary>
    [LoggerMessage(5, LogLevel.Information, "Message {MessageId} {Outcome} ({Reply}): from <{Sender}> by {ClientHostname} [{ClientAddress}], {Recipients} recipients, {Size} bytes")]
    public static partial void Message(ILogger logger, string messageId, string outcome, int reply, string sender, string clientHostname, IPAddress clientAddress, int recipients, long size);
}
