using System.Runtime.CompilerServices;
using System.Text;

namespace Smtpd;

/// <summary>AUTH (RFC 4954): gatekeeping (the per-address failure limit included), the SASL exchange with one <see cref="SaslServerMechanism"/> at a time, and the failure policy.</summary>
internal static class AuthCommand
{
    /// <summary>The AUTH command, after the dispatcher's checks (HELO first, counters).</summary>
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        AuthReplyTable replies = protocol.Endpoint.AuthReplies;
        if (RequiresStartTlsBeforeAuth(protocol.Session.Secure, protocol.Options.AllowInsecureAuth, protocol.IsStartTlsUsable))
        {
            return protocol.Reply(replies.StartTlsFirst);
        }

        if (protocol.Session.User is not null)
        {
            return protocol.Reply(replies.NoIdentityChanges);
        }

        // An address that failed too often is refused before any credentials are looked at.
        if (protocol.Server.AuthFailures.IsLimited(protocol.Session.RemoteAddress, Environment.TickCount64))
        {
            protocol.Server.Metrics.AuthRateLimited();
            return protocol.Reply(454, "4.7.0", AuthReplyTable.RateLimitedText(protocol.Session.RemoteAddress));
        }

        string[] words = Encoding.UTF8.GetString(command.Arguments).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        SaslServerMechanism? mechanism = words.Length == 0 ? null : CreateMechanism(protocol, words[0]);
        if (mechanism is null)
        {
            return protocol.Reply(replies.Unrecognized);
        }

        if (words.Length > 2 || (words.Length == 2 && !mechanism.AcceptsInitialResponse))
        {
            return protocol.Reply(501, "5.5.4", mechanism.SyntaxError);
        }

        (protocol.Auth ??= new AuthExchange()).Mechanism = mechanism;
        return Step(protocol, mechanism.Start(words.Length == 2 ? words[1] : null));
    }

    /// <summary>A line of the client while an exchange waits for one.</summary>
    public static ValueTask<Outcome> Continue(SmtpProtocol protocol, ReadOnlySpan<byte> line)
    {
        AuthExchange exchange = protocol.Auth!;
        if (protocol.Server.IsClosing)
        {
            exchange.Mechanism = null;
            return protocol.Final(protocol.Endpoint.Replies.ShuttingDown);
        }

        return Step(protocol, exchange.Mechanism!.Continue(Encoding.UTF8.GetString(line)));
    }

    /// <summary>
    /// The 538 rule (RFC 4954 §4, §6): a cleartext connection that could switch to TLS must do so before AUTH, unless
    /// <see cref="SmtpServerOptions.AllowInsecureAuth"/>. Whether STARTTLS is advertised plays no part: hiding it
    /// (<see cref="SmtpServerOptions.HideStartTls"/>) does not make cleartext credentials safe (the reference lets them through).
    /// </summary>
    /// <param name="secure">The connection is encrypted.</param>
    /// <param name="allowInsecureAuth">The option.</param>
    /// <param name="startTlsUsable">STARTTLS works on this connection (TLS configured, command not disabled), advertised or not.</param>
    public static bool RequiresStartTlsBeforeAuth(bool secure, bool allowInsecureAuth, bool startTlsUsable) =>
        !secure && !allowInsecureAuth && startTlsUsable;

    /// <summary>
    /// The AUTH line as logged: <c>AUTH &lt;mechanism&gt; /* secured */</c> when anything follows the mechanism. The
    /// arguments are split on any whitespace, as <see cref="Execute"/> does, so no spacing lets an initial response through.
    /// </summary>
    public static string Redact(ReadOnlySpan<byte> line, int verbLength)
    {
        string[] words = Encoding.UTF8.GetString(line[verbLength..]).Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return words.Length < 2
            ? Encoding.UTF8.GetString(line)
            : Encoding.UTF8.GetString(line[..verbLength]) + " " + words[0] + " /* secured */";
    }

    /// <summary>A mechanism named in <see cref="SmtpServerOptions.AuthMethods"/> that Smtpd implements, or <see langword="null"/> (504).</summary>
    private static SaslServerMechanism? CreateMechanism(SmtpProtocol protocol, string name)
    {
        return !protocol.Endpoint.Capabilities.OffersAuth(name) ? null : name.ToUpperInvariant() switch
        {
            SmtpAuthMethods.Plain => new PlainMechanism(),
            SmtpAuthMethods.Login => new LoginMechanism(),
            SmtpAuthMethods.CramMd5 => new CramMd5Mechanism(protocol.Options.Name),
            SmtpAuthMethods.XOAuth2 => new XOAuth2Mechanism(),
            SmtpAuthMethods.OAuthBearer => new OAuthBearerMechanism(),
            SmtpAuthMethods.ScramSha256 => new ScramSha256Mechanism(),
            _ => null,
        };
    }

    private static ValueTask<Outcome> Step(SmtpProtocol protocol, SaslStep step)
    {
        switch (step.Kind)
        {
            case SaslStepKind.Challenge:
                protocol.Replies.WriteChallenge(step.Text!);
                return new(Outcome.Continue);
            case SaslStepKind.Authenticate:
                return AuthenticateAsync(protocol, step.Request!);
            case SaslStepKind.Failed when step.Code >= 500:
                return FailAsync(protocol, step);
            default:
                return new(Finish(protocol, step));
        }
    }

    /// <summary>
    /// A refusal with a 5xx code: counted per attempt (<see cref="AuthExchange.CountFailure"/>) on the connection and for
    /// the client's address, logged at Warning whatever else is logged, answered after the growing pause of
    /// <see cref="SmtpServerOptions.AuthFailureDelay"/>, and followed by <c>421</c> once the connection's limit is reached.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<Outcome> FailAsync(SmtpProtocol protocol, SaslStep step)
    {
        AuthExchange exchange = protocol.Auth!;
        SmtpAuthRequest? request = exchange.End();
        string method = request?.Method ?? "";
        SmtpSession session = protocol.Session;
        SmtpServerOptions options = protocol.Options;
        protocol.Server.Metrics.AuthAttempt(method, success: false);
        bool counted = exchange.CountFailure(request);
        SmtpLog.AuthFailed(protocol.Logger, session.Id, session.RemoteAddress, request?.Username ?? "", method, step.Code, exchange.Failures);
        if (counted && protocol.Server.AuthFailures.Record(session.RemoteAddress, Environment.TickCount64))
        {
            SmtpLog.AuthRateLimited(protocol.Logger, session.Id, session.RemoteAddress, options.MaxAuthFailuresPerClient, options.AuthFailureWindow.TotalSeconds);
        }

        if (options.AuthFailureDelay > TimeSpan.Zero)
        {
            // The pause grows with the refusals on this connection; wrong user names and wrong passwords wait alike.
            await Task.Delay(options.AuthFailureDelay * Math.Min(exchange.Failures, 10), protocol.Transport.Aborted);
        }

        Outcome outcome = protocol.Replies.WriteResult(SmtpResult.Reject(step.Code, step.Text!, step.EnhancedCode));
        if (options.MaxAuthFailures > 0 && exchange.Failures >= options.MaxAuthFailures)
        {
            SmtpLog.TooManyAuthFailures(protocol.Logger, session.Id, session.RemoteAddress, exchange.Failures);
            protocol.Replies.Write(protocol.Endpoint.AuthReplies.TooManyFailures);
            return Outcome.Close;
        }

        return outcome;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<Outcome> AuthenticateAsync(SmtpProtocol protocol, SmtpAuthRequest request)
    {
        AuthExchange exchange = protocol.Auth!;
        exchange.Request = request;
        SmtpAuthResult result = await protocol.Handlers.AuthAsync(request);
        return await Step(protocol, exchange.Mechanism!.Complete(result));
    }

    /// <summary>Ends the exchange with its final reply.</summary>
    private static Outcome Finish(SmtpProtocol protocol, SaslStep step)
    {
        AuthExchange exchange = protocol.Auth!;
        SmtpAuthRequest? request = exchange.End();
        string method = request?.Method ?? "";
        SmtpSession session = protocol.Session;
        AuthReplyTable replies = protocol.Endpoint.AuthReplies;
        switch (step.Kind)
        {
            case SaslStepKind.Succeeded:
                exchange.ClearAttempt();
                session.User = step.User;
                protocol.Server.Metrics.AuthAttempt(method, success: true);
                SmtpLog.AuthSucceeded(protocol.Logger, session.Id, session.RemoteAddress, request?.Username ?? "", method);
                protocol.Replies.Write(replies.Succeeded);
                return Outcome.Continue;
            case SaslStepKind.Failed:
                // A temporary (4xx) refusal: the 5xx ones take FailAsync.
                protocol.Server.Metrics.AuthAttempt(method, success: false);
                return protocol.Replies.WriteResult(SmtpResult.Reject(step.Code, step.Text!, step.EnhancedCode));
            case SaslStepKind.Aborted:
                protocol.Replies.Write(replies.Aborted);
                return Outcome.Continue;
            case SaslStepKind.MissingUsername:
                protocol.Replies.Write(replies.MissingUsername);
                return Outcome.Continue;
            case SaslStepKind.HandlerMisuse:
                protocol.Handlers.LogFailure("AUTH", new InvalidOperationException(step.Text));
                protocol.Replies.Write(protocol.Endpoint.Replies.InternalError);
                return Outcome.Continue;
            default:
                protocol.Replies.Write(replies.InvalidUserdata);
                return Outcome.Continue;
        }
    }
}
