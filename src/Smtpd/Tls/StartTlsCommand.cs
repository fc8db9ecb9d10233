using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>STARTTLS (RFC 3207), and the secure handler every handshake ends with.</summary>
internal static class StartTlsCommand
{
    /// <summary>The command: <c>220</c>, then (<see cref="Outcome.StartTls"/>) the connection drops the pipelined plaintext and does the handshake.</summary>
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        if (!command.HasNoArguments)
        {
            return protocol.Reply(501, "5.5.4", "Error: syntax: STARTTLS");
        }

        if (protocol.Session.Secure)
        {
            return protocol.Reply(503, "5.5.1", "Error: TLS already active");
        }

        if (protocol.Server.Tls is null)
        {
            // Only reachable when the session re-enabled STARTTLS on a server that disabled it and has no certificate.
            return protocol.Reply(454, "4.7.0", "TLS not available due to temporary reason");
        }

        protocol.Replies.Write(220, "2.0.0", "Ready to start TLS");
        return new(Outcome.StartTls);
    }

    /// <summary>After the STARTTLS handshake: the full reset of RFC 3207 (user, HELO name, opening command, transaction), then the secure handler.</summary>
    public static ValueTask<bool> CompleteAsync(SmtpProtocol protocol)
    {
        protocol.Session.ResetIdentity();
        protocol.ResetTransaction();
        return AcceptsSecureSessionAsync(protocol, enhanced: true);
    }

    /// <summary>
    /// Runs the secure handler. A refusal is answered (with an enhanced code only after STARTTLS), counted and logged,
    /// and <see langword="false"/> tells the caller to close.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> AcceptsSecureSessionAsync(SmtpProtocol protocol, bool enhanced)
    {
        SmtpResult result = await protocol.Handlers.SecureAsync();
        if (result.IsAccepted)
        {
            return true;
        }

        protocol.Replies.WriteResult(result, enhanced);
        protocol.Server.Metrics.ConnectionRefused("secure_handler", protocol.Session);
        SmtpLog.Refused(protocol.Logger, protocol.Session.Id, protocol.Session.RemoteAddress, $"secure handler: {result.Code} {result.Message}");
        return false;
    }
}
