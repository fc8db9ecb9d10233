using System.Net;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>The log lines of the proxy features (event ids 500–509). Connections from ignored hosts write none.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(500, LogLevel.Information, "[{SessionId}] PROXY v{Version} from {Source} through {Proxy}:{ProxyPort} to {Destination}")]
    public static partial void Header(ILogger logger, string sessionId, int version, string source, IPAddress proxy, int proxyPort, string destination);

    [LoggerMessage(501, LogLevel.Warning, "[{SessionId}] Invalid PROXY header from {Proxy}: {Reason}")]
    public static partial void InvalidHeader(ILogger logger, string sessionId, IPAddress proxy, string reason);

    [LoggerMessage(502, LogLevel.Information, "[{SessionId}] Dropped {Proxy} before its PROXY header: {Reason}")]
    public static partial void Dropped(ILogger logger, string sessionId, IPAddress proxy, string reason);

    [LoggerMessage(505, LogLevel.Debug, "[{SessionId}] {Proxy} closed the connection {Where} the PROXY header")]
    public static partial void ClosedBeforeHeader(ILogger logger, string sessionId, IPAddress proxy, string where);

    [LoggerMessage(506, LogLevel.Warning, "[{SessionId}] XCLIENT LOGIN as {Username} refused by the AUTH handler: {Code}, closing")]
    public static partial void XClientLoginRefused(ILogger logger, string sessionId, string username, int code);

    [LoggerMessage(503, LogLevel.Information, "[{SessionId}] XCLIENT from {Peer}: {Attributes}")]
    public static partial void XClient(ILogger logger, string sessionId, IPAddress peer, string attributes);

    [LoggerMessage(504, LogLevel.Information, "[{SessionId}] XFORWARD from {Peer}: {Attributes}")]
    public static partial void XForward(ILogger logger, string sessionId, IPAddress peer, string attributes);
}
