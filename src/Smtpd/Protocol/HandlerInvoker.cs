using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// Calls one connection's handlers under the one exception policy of the engine: an <see cref="SmtpException"/> is a
/// refusal with its code (each handler has a default code); a failure of the client's connection (the transport was
/// aborted, or the message stream failed to read from the client) ends the session; anything else is the handler's own
/// failure: logged and answered <c>451 4.3.0</c>, and the session goes on. The handlers of an open transaction run
/// with its activity as <see cref="Activity.Current"/>. The DATA handler of a BDAT message runs across commands
/// (<see cref="StartData"/>); every other handler call waits for it to end first, so a session's handlers never overlap.
/// </summary>
internal sealed class HandlerInvoker(SmtpSessionHandler handler, SmtpSession session, ConnectionTransport transport, ILogger logger)
{
    private Task<SmtpResult>? _running;

    private enum Kind
    {
        Connect,
        Secure,
        MailFrom,
        RcptTo,
        Data,
    }

    /// <summary>The reply to a handler that failed.</summary>
    public static SmtpResult InternalError { get; } = SmtpResult.Reject(451, "Error: internal server error", "4.3.0");

    public SmtpSessionHandler Handler => handler;

    public ValueTask<SmtpResult> ConnectAsync() => InvokeAsync(Kind.Connect, null, 554);

    public ValueTask<SmtpResult> SecureAsync() => InvokeAsync(Kind.Secure, null, 554);

    public ValueTask<SmtpResult> MailFromAsync(SmtpAddress sender) => InvokeAsync(Kind.MailFrom, sender, 550);

    public ValueTask<SmtpResult> RcptToAsync(SmtpAddress recipient) => InvokeAsync(Kind.RcptTo, recipient, 550);

    /// <summary>The DATA handler; a refusal by exception defaults to 450. Throws only when the client's connection failed.</summary>
    public ValueTask<SmtpResult> DataAsync(SmtpDataStream message) => InvokeAsync(Kind.Data, message, 450);

    /// <summary>
    /// Starts the DATA handler of a BDAT message, which reads the chunks as they arrive and so runs on while the command
    /// loop answers them; <paramref name="ended"/> is called when it returns or throws. Like <see cref="DataAsync"/>, the
    /// task fails only when the client's connection failed or the message was abandoned.
    /// </summary>
    public Task<SmtpResult> StartData(SmtpDataStream message, Action ended)
    {
        Task<SmtpResult> running = RunDataAsync(message, ended);
        _running = running;
        return running;
    }

    /// <summary>Waits for the DATA handler of a BDAT message (abandoned, or ended) to finish; its failure is not the caller's.</summary>
    public ValueTask SettleDataAsync() => _running is null ? default : SettleRunningAsync();

    /// <summary>The AUTH handler (also for <c>XCLIENT LOGIN=</c>); a refusal by exception defaults to 535.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SmtpAuthResult> AuthAsync(SmtpAuthRequest request)
    {
        await SettleDataAsync();
        try
        {
            return await handler.OnAuthAsync(request, session, transport.Aborted)
                ?? throw new InvalidOperationException("The AUTH handler returned null instead of an SmtpAuthResult.");
        }
        catch (Exception ex) when (!transport.IsAborted)
        {
            SmtpResult reply = Failed(ex, "AUTH", 535);
            return SmtpAuthResult.Failure(reply.Code, reply.Message!, reply.EnhancedCode);
        }
    }

    /// <summary>The close handler, once per connection after it closed; its failures are logged.</summary>
    public async ValueTask CloseAsync(CancellationToken stopping)
    {
        await SettleDataAsync();
        try
        {
            await handler.OnCloseAsync(session, stopping);
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(logger, session.Id, "close", ex);
        }
    }

    /// <summary>After the close handler: an application's per-connection handler is disposed if it is disposable (never the server's shared one).</summary>
    public async ValueTask DisposeHandlerAsync(SmtpSessionHandler shared)
    {
        await SettleDataAsync();
        if (handler == shared)
        {
            return;
        }

        try
        {
            if (handler is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else if (handler is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(logger, session.Id, "session handler disposal", ex);
        }
    }

    /// <summary>Logs a handler failure that happened outside a handler call (the engine's own code, a misused result).</summary>
    public void LogFailure(string name, Exception exception) => SmtpLog.HandlerFailed(logger, session.Id, name, exception);

    /// <summary>The reply of a handler's <see cref="SmtpException"/> (code defaulting to <paramref name="defaultCode"/>; an enhanced code of the wrong class is dropped).</summary>
    public static SmtpResult ToResult(SmtpException exception, int defaultCode)
    {
        int code = exception.ResponseCode ?? defaultCode;
        return SmtpResult.Reject(code, exception.Message, exception.EnhancedCode is { } e && EnhancedStatusCode.IsValid(e, code) ? e : null);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SmtpResult> InvokeAsync(Kind kind, object? argument, int defaultCode)
    {
        await SettleDataAsync();
        if (session.CurrentTransaction?.Activity is { } transaction && Activity.Current != transaction)
        {
            // Undone when this method returns: the command loop's own context keeps the session's activity.
            Activity.Current = transaction;
        }

        try
        {
            CancellationToken aborted = transport.Aborted;
            return await (kind switch
            {
                Kind.Connect => handler.OnConnectAsync(session, aborted),
                Kind.Secure => handler.OnSecureAsync(session, aborted),
                Kind.MailFrom => handler.OnMailFromAsync((SmtpAddress)argument!, session, aborted),
                Kind.RcptTo => handler.OnRcptToAsync((SmtpAddress)argument!, session, aborted),
                _ => handler.OnDataAsync((SmtpDataStream)argument!, session, aborted),
            });
        }
        catch (Exception ex) when (!transport.IsAborted && argument is not SmtpDataStream { Failure: not null } and not SmtpDataStream { IsAbandoned: true })
        {
            return Failed(ex, kind switch
            {
                Kind.Connect => "connect",
                Kind.Secure => "secure",
                Kind.MailFrom => "MAIL FROM",
                Kind.RcptTo => "RCPT TO",
                _ => "DATA",
            }, defaultCode);
        }
    }

    private async Task<SmtpResult> RunDataAsync(SmtpDataStream message, Action ended)
    {
        try
        {
            return await InvokeAsync(Kind.Data, message, 450);
        }
        finally
        {
            ended();
        }
    }

    private async ValueTask SettleRunningAsync()
    {
        Task<SmtpResult> running = _running!;
        _running = null;
        try
        {
            await running;
        }
        catch (Exception ex) when (ConnectionTransport.IsConnectionFailure(ex))
        {
            // The message was abandoned or the connection failed; whoever reads the message saw that already.
        }
    }

    private SmtpResult Failed(Exception exception, string name, int defaultCode)
    {
        if (exception is SmtpException refusal)
        {
            return ToResult(refusal, defaultCode);
        }

        SmtpLog.HandlerFailed(logger, session.Id, name, exception);
        return InternalError;
    }
}
