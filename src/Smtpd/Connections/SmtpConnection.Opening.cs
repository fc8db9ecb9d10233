using System.IO.Pipelines;

namespace Smtpd;

/// <summary>
/// Opening the session of a connection: its places (a client slot, a place among its address's connections), the
/// greeting pause, reverse DNS, the connect handler, TLS before the greeting, early talkers, the greeting.
/// </summary>
internal sealed partial class SmtpConnection
{
    /// <summary>Client slot, greeting pause, reverse DNS, connect handler, TLS before the greeting, early talkers, greeting.</summary>
    private async ValueTask<bool> StartSessionAsync(SmtpProtocol protocol, bool handlerFailed)
    {
        ServerContext server = _endpoint.Server;
        SmtpServerOptions options = _endpoint.Options;
        ReplyTable replies = _endpoint.Replies;
        _hasClientSlot = true;
        if (!server.Connections.TryAcquireClientSlot())
        {
            server.Metrics.ConnectionRefused("max_clients", _session);
            SmtpLog.Refused(_logger, _session.Id, _session.RemoteAddress, "too many connected clients");
            protocol.Replies.Write(replies.TooManyClients);
            await protocol.Replies.FlushAsync();
            return false;
        }

        // Counted under the address of the greeting (XCLIENT may change the session's later); peers trusted to forward
        // clients (XCLIENT, XFORWARD) are the operator's proxies, speaking for many clients, and are not counted.
        _countedPerAddress = !(_trust.XClient || _trust.XForward) && server.Connections.TryAcquireClientAddress(_trust.Peer);
        if (!_countedPerAddress && !(_trust.XClient || _trust.XForward))
        {
            server.Metrics.ConnectionRefused("max_connections_per_client", _session);
            SmtpLog.Refused(_logger, _session.Id, _session.RemoteAddress, "too many connections from this address");
            protocol.Replies.WriteLine(421, "4.7.0", $"{options.Name} Error: too many connections from {_session.RemoteAddress}");
            await protocol.Replies.FlushAsync();
            return false;
        }

        if (handlerFailed)
        {
            protocol.Replies.WriteResult(HandlerInvoker.InternalError, enhanced: false);
            await protocol.Replies.FlushAsync();
            return false;
        }

        if (options.GreetingDelay > TimeSpan.Zero)
        {
            _pause = await GreetingPause.WaitAsync(_transport, options.GreetingDelay);
        }

        await ReverseLookup.ResolveAsync(_session, options, _transport, _logger);
        SmtpResult connect = _ignored || !server.HasConnectHandler ? default : await protocol.Handlers.ConnectAsync();
        if (!connect.IsAccepted)
        {
            protocol.Replies.WriteResult(connect, enhanced: false);
            server.Metrics.ConnectionRefused("connect_handler", _session);
            SmtpLog.Refused(_logger, _session.Id, _session.RemoteAddress, $"connect handler: {connect.Code} {connect.Message}");
            await protocol.Replies.FlushAsync();
            return false;
        }

        if (!await SecureSessionAsync(protocol))
        {
            return false;
        }

        if (_pause is { HasInput: true })
        {
            ReadResult early = await _pause.TakeAsync();
            _pause = null;
            if (!early.IsCanceled && !early.Buffer.IsEmpty)
            {
                protocol.Replies.Write(SmtpProtocol.IsGreeting(GreetingPause.FirstCommand(early.Buffer)) ? replies.TalkTooSoonPlain : replies.TalkTooSoon);
                server.Metrics.ConnectionRefused("early_talker", _session);
                SmtpLog.ClientMisbehaved(_logger, _session.Id, "client talked before the greeting");
                _transport.Reader.AdvanceTo(early.Buffer.End);
                await protocol.Replies.FlushAsync();
                return false;
            }

            _transport.Reader.AdvanceTo(early.Buffer.Start, early.Buffer.End);
            if (early.IsCompleted)
            {
                return false;
            }
        }

        if (!_ignored)
        {
            SmtpLog.Connected(_logger, _session.Id, _session.ClientHostname, _session.RemoteAddress, _session.RemotePort, _session.LocalAddress, _session.LocalPort);
        }

        protocol.Replies.Write(replies.Greeting);
        await protocol.Replies.FlushAsync();
        return true;
    }

    /// <summary>After the connect handler, before the greeting: the delayed upgrade (<c>NeedsUpgrade</c>), then the secure handler for secure sessions.</summary>
    private async ValueTask<bool> SecureSessionAsync(SmtpProtocol protocol)
    {
        SmtpServerOptions options = _endpoint.Options;
        if (_endpoint.TlsMode == SmtpTlsMode.Implicit && options.NeedsUpgrade && !_session.Secure && !options.Secured)
        {
            if (!await TlsHandshake.RunAsync(_transport, _endpoint.Server, _session, _logger, await TakeEarlyBytesAsync(), startTls: false))
            {
                return false;
            }

            // Keep answering "You talk too soon" to what arrives inside TLS before the greeting.
            _pause?.Restart();
        }

        if (!_session.Secure || await StartTlsCommand.AcceptsSecureSessionAsync(protocol, enhanced: false))
        {
            return true;
        }

        await CloseAsync();
        return false;
    }

    /// <summary>Bytes the plaintext reader already took (during the greeting pause, or after the PROXY header): they open the TLS handshake.</summary>
    private async ValueTask<byte[]?> TakeEarlyBytesAsync()
    {
        ReadResult result;
        if (_pause is not null)
        {
            result = await _pause.TakeAsync();
        }
        else if (!_transport.Reader.TryRead(out result))
        {
            return null;
        }

        return _transport.TakeBuffered(result);
    }
}
