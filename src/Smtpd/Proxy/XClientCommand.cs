using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>Postfix XCLIENT (§13.2): a trusted front end overrides what the session knows about the client.</summary>
internal static class XClientCommand
{
    private static readonly string[] Keys = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN"];

    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        if (ForwardedAttributes.Accept(protocol, protocol.Trust.IsXClientOffered, command, Keys, tempUnavailableToo: true) is not { } attributes)
        {
            return new(Outcome.Continue);
        }

        SmtpSession session = protocol.Session;
        Dictionary<string, string?> map = session.XClientAttributes;
        bool hasAddress = attributes.TryGet("ADDR", out string? address);
        bool hasName = attributes.TryGet("NAME", out string? name);
        bool hasPort = attributes.TryGet("PORT", out string? port);
        if (hasAddress)
        {
            map.TryAdd("ADDR:DEFAULT", session.RemoteAddress.ToString());
        }

        if (hasName)
        {
            map.TryAdd("NAME:DEFAULT", session.ClientHostname);
        }

        if (hasPort)
        {
            map.TryAdd("PORT:DEFAULT", session.RemotePort.ToString(CultureInfo.InvariantCulture));
        }

        if (hasAddress)
        {
            if (address is not null)
            {
                ForwardedAttributes.ApplyAddress(session, address);
            }

            // A new client: it must greet again, and it is not the one that may have authenticated.
            session.ResetIdentity();
            protocol.Trust.ClientReplaced = true;
        }

        if (hasPort)
        {
            session.RemotePort = ForwardedAttributes.ParsePort(port);
        }

        if (hasName)
        {
            ForwardedAttributes.ApplyName(session, name);
        }

        attributes.RecordInto(map);
        if (protocol.Logger.IsEnabled(LogLevel.Information))
        {
            ProxyLog.XClient(protocol.Logger, session.Id, protocol.Trust.Peer, attributes.ToString());
        }

        if (attributes.TryGet("LOGIN", out string? login) && login is not null)
        {
            if (login.Length > 0)
            {
                // The AUTH handler decides, seeing the session with the new attributes.
                return LoginAsync(protocol, login);
            }

            // LOGIN= (empty) logs the client out; [UNAVAILABLE] leaves the login as it is.
            session.User = null;
        }

        return new(Finish(protocol));
    }

    /// <summary>
    /// <c>XCLIENT LOGIN=name</c>: the AUTH handler is asked with method <c>XCLIENT</c> and no secret. Accepted: the client
    /// is that user. The default handler's "no decision": it stays as it is. Refused: <c>550</c> with the handler's text
    /// (default <c>Authentication credentials invalid</c>), or the handler's own 4xx for a temporary failure, then close.
    /// Failures here do not count towards <see cref="SmtpServerOptions.MaxAuthFailures"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<Outcome> LoginAsync(SmtpProtocol protocol, string login)
    {
        SmtpSession session = protocol.Session;
        SmtpAuthResult result = await protocol.Handlers.AuthAsync(new SmtpAuthRequest(SmtpAuthMethods.XClient, login));
        if (result.IsSuccess)
        {
            session.User = result.User;
            protocol.Server.Metrics.AuthAttempt(SmtpAuthMethods.XClient, success: true);
            SmtpLog.AuthSucceeded(protocol.Logger, session.Id, session.RemoteAddress, login, SmtpAuthMethods.XClient);
        }
        else if (!result.IsUnhandled)
        {
            bool temporary = result.Code is >= 400 and < 500;
            int code = temporary ? result.Code : 550;
            string? enhanced = result.EnhancedCode is { } given && EnhancedStatusCode.IsValid(given, code) ? given : temporary ? null : "5.7.8";
            protocol.Server.Metrics.AuthAttempt(SmtpAuthMethods.XClient, success: false);
            ProxyLog.XClientLoginRefused(protocol.Logger, session.Id, login, code);
            protocol.Replies.WriteResult(SmtpResult.Reject(code, result.Message ?? "Authentication credentials invalid", enhanced));
            return Outcome.Close;
        }

        return Finish(protocol);
    }

    /// <summary>After XCLIENT: a fresh transaction and the full greeting (never an enhanced code).</summary>
    private static Outcome Finish(SmtpProtocol protocol)
    {
        protocol.ResetTransaction();
        protocol.Replies.Write(protocol.Endpoint.Replies.Greeting);
        return Outcome.Continue;
    }
}
