using System.Net;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>The log lines of authentication (event ids 60–69). User names are logged; passwords, tokens and payloads never.</summary>
internal static partial class SmtpLog
{
    [LoggerMessage(60, LogLevel.Information, "[{SessionId}] {RemoteAddress} authenticated as {Username} with {Method}")]
    public static partial void AuthSucceeded(ILogger logger, string sessionId, IPAddress remoteAddress, string username, string method);

    [LoggerMessage(61, LogLevel.Warning, "[{SessionId}] Authentication failed for {RemoteAddress} as {Username} with {Method}: {Code} (failure {Failures} on this connection)")]
    public static partial void AuthFailed(ILogger logger, string sessionId, IPAddress remoteAddress, string username, string method, int code, int failures);

    [LoggerMessage(62, LogLevel.Warning, "[{SessionId}] Closing {RemoteAddress} after {Failures} failed authentications")]
    public static partial void TooManyAuthFailures(ILogger logger, string sessionId, IPAddress remoteAddress, int failures);

    [LoggerMessage(63, LogLevel.Warning, "[{SessionId}] {RemoteAddress} failed to authenticate {Failures} times within {WindowSeconds} s: its AUTH commands are refused until the window has passed")]
    public static partial void AuthRateLimited(ILogger logger, string sessionId, IPAddress remoteAddress, int failures, double windowSeconds);
}
