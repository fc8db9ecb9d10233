using System.Buffers;
using System.Text;

namespace Smtpd;

/// <summary>AUTH (RFC 4954): gatekeeping, the SASL exchange with one <see cref="SaslServerMechanism"/> at a time, and the failure limit.</summary>
internal sealed partial class SmtpConnection
{
    private SaslServerMechanism? _sasl;
    private SmtpAuthRequest? _authRequest;
    private int _authFailures;

    /// <summary>An exchange waits for the client's next line: the dispatcher hands every line to <see cref="ContinueAuthAsync"/>.</summary>
    private bool IsAuthExchangeActive => _sasl is not null;

    /// <summary>EHLO lists AUTH (when enabled and not yet authenticated) unless <see cref="SmtpServerOptions.HideAuthBeforeTls"/> hides it in cleartext.</summary>
    private bool IsAuthAdvertised => Session.Secure || !_options.HideAuthBeforeTls;

    /// <summary>Is AUTH on this connection refused with 538 until STARTTLS? See <see cref="RequiresStartTlsBeforeAuth"/>.</summary>
    internal bool MustStartTlsBeforeAuth =>
        RequiresStartTlsBeforeAuth(Session.Secure, _options.AllowInsecureAuth, IsStartTlsAvailable && !IsDisabled(SmtpCommand.StartTls));

    /// <summary>
    /// The 538 rule (RFC 4954 §4, §6): a cleartext connection that could switch to TLS must do so before AUTH, unless
    /// <see cref="SmtpServerOptions.AllowInsecureAuth"/>. Whether STARTTLS is advertised plays no part: hiding it
    /// (<see cref="SmtpServerOptions.HideSTARTTLS"/>) does not make cleartext credentials safe (the reference lets them through).
    /// </summary>
    /// <param name="secure">The connection is encrypted.</param>
    /// <param name="allowInsecureAuth">The option.</param>
    /// <param name="startTlsUsable">STARTTLS works on this connection (TLS configured, command not disabled), advertised or not.</param>
    internal static bool RequiresStartTlsBeforeAuth(bool secure, bool allowInsecureAuth, bool startTlsUsable) =>
        !secure && !allowInsecureAuth && startTlsUsable;

    /// <summary>
    /// For <c>XCLIENT LOGIN=name</c>: asks the AUTH handler about <paramref name="username"/> with method
    /// <see cref="SmtpAuthMethods.XClient"/> and no secret, under the same exception rules as AUTH (an
    /// <see cref="SmtpException"/> becomes a failure with its code, default 535; any other exception is logged and becomes
    /// <c>451 4.3.0</c>). The caller applies the answer: <see cref="SmtpAuthResult.IsSuccess"/> ⇒ <c>Session.User = result.User</c>;
    /// <see cref="SmtpAuthResult.IsUnhandled"/> (the default handler) ⇒ stay unauthenticated; anything else is a refusal.
    /// Failures here do not count towards <see cref="SmtpServerOptions.MaxAuthFailures"/>.
    /// </summary>
    internal ValueTask<SmtpAuthResult> AuthenticateForXClientAsync(string username) =>
        InvokeAuthHandlerAsync(new SmtpAuthRequest(SmtpAuthMethods.XClient, username));

    /// <summary>
    /// The AUTH line as logged: <c>AUTH &lt;mechanism&gt; /* secured */</c> when anything follows the mechanism. The
    /// arguments are split on any whitespace, as <see cref="AuthAsync"/> does, so no spacing lets an initial response through.
    /// </summary>
    private static string RedactAuthCommand(ReadOnlySpan<byte> line, int verbLength)
    {
        string[] words = Encoding.UTF8.GetString(line[verbLength..]).Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return words.Length < 2
            ? Encoding.UTF8.GetString(line)
            : Encoding.UTF8.GetString(line[..verbLength]) + " " + words[0] + " /* secured */";
    }

    /// <summary>The AUTH command, after the dispatcher's checks (HELO first, counters).</summary>
    private ValueTask<Outcome> AuthAsync(ReadOnlySpan<byte> arguments)
    {
        AuthReplyTable replies = _server.AuthReplies;
        if (MustStartTlsBeforeAuth)
        {
            return Reply(replies.StartTlsFirst);
        }

        if (Session.User is not null)
        {
            return Reply(replies.NoIdentityChanges);
        }

        string[] words = Encoding.UTF8.GetString(arguments).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        SaslServerMechanism? mechanism = words.Length == 0 ? null : CreateMechanism(words[0]);
        if (mechanism is null)
        {
            return Reply(replies.Unrecognized);
        }

        if (words.Length > 2 || (words.Length == 2 && !mechanism.AcceptsInitialResponse))
        {
            return Reply(501, "5.5.4", mechanism.SyntaxError);
        }

        _sasl = mechanism;
        return Step(mechanism.Start(words.Length == 2 ? words[1] : null));
    }

    /// <summary>A line of the client while an exchange waits for one.</summary>
    private ValueTask<Outcome> ContinueAuthAsync(ReadOnlySpan<byte> line)
    {
        if (_server.IsClosing)
        {
            _sasl = null;
            return Final(_replies.ShuttingDown);
        }

        return Step(_sasl!.Continue(Encoding.UTF8.GetString(line)));
    }

    /// <summary>A mechanism named in <see cref="SmtpServerOptions.AuthMethods"/> that Smtpd implements, or <see langword="null"/> (504).</summary>
    private SaslServerMechanism? CreateMechanism(string name)
    {
        return !_server.Capabilities.OffersAuth(name) ? null : name.ToUpperInvariant() switch
        {
            SmtpAuthMethods.Plain => new PlainMechanism(),
            SmtpAuthMethods.Login => new LoginMechanism(),
            SmtpAuthMethods.CramMd5 => new CramMd5Mechanism(_options.Name),
            SmtpAuthMethods.XOAuth2 => new XOAuth2Mechanism(),
            SmtpAuthMethods.OAuthBearer => new OAuthBearerMechanism(),
            SmtpAuthMethods.ScramSha256 => new ScramSha256Mechanism(),
            _ => null,
        };
    }

    private ValueTask<Outcome> Step(SaslStep step)
    {
        switch (step.Kind)
        {
            case SaslStepKind.Challenge:
                WriteChallenge(step.Text!);
                return new(Outcome.Continue);
            case SaslStepKind.Authenticate:
                return AuthenticateAsync(step.Request!);
            default:
                return new(Finish(step));
        }
    }

    private async ValueTask<Outcome> AuthenticateAsync(SmtpAuthRequest request)
    {
        _authRequest = request;
        SmtpAuthResult result = await InvokeAuthHandlerAsync(request);
        return await Step(_sasl!.Complete(result));
    }

    /// <summary>Calls the AUTH handler with the reference's error rules; never throws unless the connection was aborted.</summary>
    private async ValueTask<SmtpAuthResult> InvokeAuthHandlerAsync(SmtpAuthRequest request)
    {
        try
        {
            return await _server.InvokeAuthAsync(request, Session, AbortToken)
                ?? throw new InvalidOperationException("The AUTH handler returned null instead of an SmtpAuthResult.");
        }
        catch (SmtpException ex)
        {
            SmtpResult reply = ToResult(ex, 535);
            return SmtpAuthResult.Failure(reply.Code, reply.Message ?? "", reply.EnhancedCode);
        }
        catch (Exception ex) when (!IsAborted)
        {
            SmtpLog.HandlerFailed(_logger, Session.Id, "AUTH", ex);
            return SmtpAuthResult.Failure(451, "Error: internal server error", "4.3.0");
        }
    }

    /// <summary>Ends the exchange with its final reply.</summary>
    private Outcome Finish(SaslStep step)
    {
        _sasl = null;
        SmtpAuthRequest? request = _authRequest;
        _authRequest = null;
        AuthReplyTable replies = _server.AuthReplies;
        switch (step.Kind)
        {
            case SaslStepKind.Succeeded:
                Session.User = step.User;
                _metrics.AuthAttempt(request?.Method ?? "", success: true);
                SmtpLog.AuthSucceeded(_logger, Session.Id, Session.RemoteAddress, request?.Username ?? "", request?.Method ?? "");
                Write(replies.Succeeded);
                return Outcome.Continue;
            case SaslStepKind.Failed:
                Outcome outcome = WriteResult(SmtpResult.Reject(step.Code, step.Text!, step.EnhancedCode));
                _metrics.AuthAttempt(request?.Method ?? "", success: false);
                if (step.Code < 500)
                {
                    return outcome;
                }

                _authFailures++;
                SmtpLog.AuthFailed(_logger, Session.Id, Session.RemoteAddress, request?.Username ?? "", request?.Method ?? "", step.Code, _authFailures);
                if (_options.MaxAuthFailures > 0 && _authFailures >= _options.MaxAuthFailures)
                {
                    SmtpLog.TooManyAuthFailures(_logger, Session.Id, Session.RemoteAddress, _authFailures);
                    Write(replies.TooManyFailures);
                    return Outcome.Close;
                }

                return outcome;
            case SaslStepKind.Aborted:
                Write(replies.Aborted);
                return Outcome.Continue;
            case SaslStepKind.MissingUsername:
                Write(replies.MissingUsername);
                return Outcome.Continue;
            case SaslStepKind.HandlerMisuse:
                SmtpLog.HandlerFailed(_logger, Session.Id, "AUTH", new InvalidOperationException(step.Text));
                Write(_replies.InternalError);
                return Outcome.Continue;
            default:
                Write(replies.InvalidUserdata);
                return Outcome.Continue;
        }
    }

    private void WriteChallenge(string challenge)
    {
        if (challenge.Length == 0)
        {
            _writer.Write(AuthReplyTable.EmptyChallenge);
        }
        else
        {
            ReplyWriter.Write(_writer, 334, null, challenge);
        }

        _pendingFlush = true;
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
        {
            SmtpLog.Reply(_logger, Session.Id, "334 " + challenge);
        }
    }
}
