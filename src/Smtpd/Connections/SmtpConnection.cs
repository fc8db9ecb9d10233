using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Smtpd;

/// <summary>
/// One client connection, from accept to the end of its close handler: the transport is prepared (PROXY header,
/// implicit TLS), the session opened (client slot, greeting pause, reverse DNS, connect and secure handlers, greeting),
/// then the command loop reads lines and hands them to the <see cref="SmtpProtocol"/>, and does what it answers:
/// flush once per pipelined group, receive a message, upgrade to TLS, close.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "RunAsync disposes the transport when it ends; the connection has no other owner.")]
internal sealed partial class SmtpConnection : IThreadPoolWorkItem
{
    private readonly EndpointContext _endpoint;
    private readonly ConnectionTransport _transport;
    private readonly SmtpSession _session;
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private ILogger _logger;
    private bool _ignored;
    private ForwardingTrust _trust;
    private bool _hasClientSlot;
    private bool _countedPerAddress;
    private GreetingPause? _pause;
    private Activity? _sessionActivity;
    private int _lineStart;
    private TagList _metricTags;
    private bool _countedActive;

    public SmtpConnection(EndpointContext endpoint, Socket? socket, Stream? stream, IPEndPoint? remote, IPEndPoint? local)
    {
        _endpoint = endpoint;
        _transport = new ConnectionTransport(socket, stream, endpoint.Server.SocketTimeoutMs, endpoint.Server.Options.UnsafePreferInlineScheduling);
        _logger = endpoint.Server.Logger;
        _session = new SmtpSession(SmtpSession.NewId(), endpoint.Options.Lmtp, !endpoint.Options.HideDsn)
        {
            NetworkTransport = socket is null ? null : socket.AddressFamily == AddressFamily.Unix ? "unix" : "tcp",
        };
        if (remote is not null)
        {
            _session.RemoteAddress = IpText.Normalize(remote.Address);
            _session.RemotePort = remote.Port;
        }

        if (local is not null)
        {
            _session.LocalAddress = IpText.Normalize(local.Address);
            _session.LocalPort = local.Port;
        }
    }

    /// <summary>The key of the connection in the server's registry.</summary>
    public long Key { get; set; }

    /// <summary>The deadline the heartbeat ticks, and the shutdown request.</summary>
    public TimeoutControl Timeouts => _transport.Timeouts;

    void IThreadPoolWorkItem.Execute() => _ = RunAsync(CancellationToken.None);

    /// <summary>Tears the transport down at once; pending reads and writes fail.</summary>
    public void Abort() => _transport.Abort();

    /// <summary>From a close: a connection still in its PROXY header or implicit TLS handshake has no session to finish, and is dropped.</summary>
    public void AbortIfNotStarted()
    {
        if (_transport.IsSettingUp)
        {
            Abort();
        }
    }

    /// <summary>Runs the whole connection; never throws. Registered by the caller; unregistered here, after the close handler.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ServerContext server = _endpoint.Server;
        using CancellationTokenRegistration external = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((SmtpConnection)s!).Abort(), this)
            : default;
        SmtpProtocol? protocol = null;
        try
        {
            if (_transport.IsAborted || !await PrepareTransportAsync())
            {
                return;
            }

            if (!_ignored)
            {
                _countedActive = server.Metrics.ConnectionOpened(_session, out _metricTags);
                _sessionActivity = SmtpActivities.StartSession(_session);
            }

            protocol = CreateProtocol(out bool handlerFailed);
            if (!await StartSessionAsync(protocol, handlerFailed))
            {
                return;
            }

            // The command loop. The wait for input is here, so an idle connection keeps one small async frame alive.
            TimeoutControl timeouts = _transport.Timeouts;
            while (true)
            {
                ConnectionReader reader = _transport.Reader;
                ReadResult result;
                if (timeouts.IsShutdownRequested)
                {
                    await ReplyAndCloseAsync(protocol, _endpoint.Replies.ShuttingDown);
                    return;
                }

                if (_pause is not null || !reader.TryRead(out result))
                {
                    // Nothing buffered: the replies of the group so far go out in one send, then wait for the client.
                    if (protocol.Replies.HasPending)
                    {
                        await protocol.Replies.FlushAsync();
                    }

                    if (timeouts.ArmForCommand(CommandWaitMs()))
                    {
                        timeouts.Disarm();
                        await ReplyAndCloseAsync(protocol, _endpoint.Replies.ShuttingDown);
                        return;
                    }

                    reader.WaitForData = _session.CurrentTransaction is not { ClientIsSending: true };
                    try
                    {
                        if (_pause is not null)
                        {
                            // The client stayed quiet during the greeting pause: that read is this one.
                            result = await _pause.TakeAsync();
                            _pause = null;
                        }
                        else
                        {
                            await reader.WaitForDataAsync();
                            result = await reader.ReadAsync(CancellationToken.None);
                        }
                    }
                    finally
                    {
                        timeouts.Disarm();
                    }
                }

                if (!await HandleInputAsync(protocol, result))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ConnectionTransport.IsConnectionFailure(ex))
        {
            // The peer vanished or the connection was aborted: nothing to answer.
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(_logger, _session.Id, "connection", ex);
        }
        finally
        {
            ReleaseClientSlot();
            await _transport.DisposeAsync();
            if (protocol is not null)
            {
                await EndSessionAsync(protocol);
            }

            _transport.ReleaseAbortSource();
            server.Connections.Unregister(this);
        }
    }

    /// <summary>Runs the commands in what was read (and the message, after DATA); <see langword="false"/> when the connection must end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleInputAsync(SmtpProtocol protocol, ReadResult result)
    {
        if (result.IsCanceled)
        {
            if (_transport.Timeouts.TimedOut)
            {
                if (!_ignored && _lineStart != 0)
                {
                    SmtpLog.CommandTimedOut(_logger, _session.Id, _endpoint.Server.CommandTimeoutMs, _session.RemoteAddress);
                }
                else if (!_ignored)
                {
                    SmtpLog.TimedOut(_logger, _session.Id, _transport.TimeoutMs, _session.RemoteAddress);
                }

                await ReplyAndCloseAsync(protocol, _endpoint.Replies.Timeout);
                return false;
            }

            if (_transport.Timeouts.IsShutdownRequested)
            {
                await ReplyAndCloseAsync(protocol, _endpoint.Replies.ShuttingDown);
                return false;
            }

            return true;
        }

        ConnectionReader reader = _transport.Reader;
        SmtpMetrics metrics = _endpoint.Server.Metrics;
        int maxLength = _endpoint.Options.MaxCommandLength;
        ReadOnlySequence<byte> buffer = result.Buffer;
        Outcome outcome = Outcome.Continue;
        bool tooLong = false;
        while (outcome == Outcome.Continue && CommandLine.TrySplit(ref buffer, maxLength, out ReadOnlySequence<byte> line, out tooLong))
        {
            _lineStart = 0;
            if (metrics.CommandDurationEnabled)
            {
                long commandStart = Stopwatch.GetTimestamp();
                outcome = await protocol.ExecuteAsync(line);
                metrics.Command(protocol.LastCommand, commandStart);
            }
            else
            {
                outcome = await protocol.ExecuteAsync(line);
            }
        }

        switch (outcome)
        {
            case Outcome.ReceiveMessage or Outcome.ReceiveChunk:
                reader.AdvanceTo(buffer.Start);
                if (await (outcome == Outcome.ReceiveChunk ? protocol.ReceiveChunkAsync() : protocol.ReceiveMessageAsync()) == Outcome.Close)
                {
                    await CloseAsync();
                    return false;
                }

                return true;

            case Outcome.StartTls:
                // Everything the client pipelined after STARTTLS in plaintext is dropped, never executed.
                reader.AdvanceTo(buffer.End);
                await protocol.Replies.FlushAsync();
                return await StartTlsAsync(protocol);

            case Outcome.Close:
                // After QUIT with nothing pipelined behind it the client only reads the reply and closes: no drain.
                bool quit = protocol.LastCommand == SmtpCommand.Quit && buffer.IsEmpty;
                reader.AdvanceTo(buffer.End);
                await CloseAsync(quit);
                return false;
        }

        if (tooLong)
        {
            reader.AdvanceTo(buffer.End);
            SmtpLog.ClientMisbehaved(_logger, _session.Id, "command line too long");
            await ReplyAndCloseAsync(protocol, _endpoint.Replies.LineTooLong);
            return false;
        }

        if (result.IsCompleted)
        {
            // The client half-closed: a trailing unterminated line is still a command.
            if (!buffer.IsEmpty)
            {
                ReadOnlySequence<byte> rest = buffer;
                buffer = buffer.Slice(buffer.End);
                _ = await protocol.ExecuteAsync(rest);
            }

            reader.AdvanceTo(buffer.End);
            await protocol.Replies.FlushAsync();
            return false;
        }

        // The rest of a partial line is awaited under the line's deadline, which runs from its first byte.
        if (!buffer.IsEmpty && _lineStart == 0)
        {
            _lineStart = Environment.TickCount | 1;
        }

        reader.AdvanceTo(buffer.Start, buffer.End);
        return true;
    }

    /// <summary>
    /// How long to wait for input before the command loop reads again: the idle timeout for a new command line, the time
    /// left until its deadline (<see cref="SmtpServerOptions.CommandTimeout"/>) for the rest of a partial one.
    /// </summary>
    private long CommandWaitMs()
    {
        ServerContext server = _endpoint.Server;
        return _lineStart == 0 ? server.SocketTimeoutMs : Math.Clamp(server.CommandTimeoutMs - unchecked(Environment.TickCount - _lineStart), 1, server.SocketTimeoutMs);
    }

    /// <summary>
    /// Before the SMTP session: reads the PROXY header when the peer must send one, decides from the client's address
    /// whether the connection is ignored and whether XCLIENT/XFORWARD are trusted, then does implicit TLS.
    /// <see langword="false"/> drops the connection.
    /// </summary>
    private async ValueTask<bool> PrepareTransportAsync()
    {
        ProxyPolicy policy = _endpoint.Proxy;
        SetIgnored(policy.IgnoredHosts.Contains(_session.RemoteAddress));
        if (_transport.SocketStream is { } socket && policy.ProxyPeers.Contains(_session.RemoteAddress)
            && !await new ProxyHeaderReader(_transport, _session, _endpoint.Server, _logger, _ignored).ReadAsync(socket))
        {
            return false;
        }

        // From here on the client is the one the proxy announced (or the direct peer).
        IPAddress client = _session.RemoteAddress;
        SetIgnored(policy.IgnoredHosts.Contains(client));
        _trust = ForwardingTrust.For(policy, client);
        if (_session.ProxyHeader is { } header && _logger.IsEnabled(LogLevel.Information))
        {
            ProxyLog.Header(_logger, _session.Id, header.Version, header.Source?.ToString() ?? "(not announced)", header.ProxyAddress, header.ProxyPort,
                header.Destination?.ToString() ?? "(not announced)");
        }

        return await TlsHandshake.StartImplicitAsync(_transport, _endpoint, _session, _logger);
    }

    /// <summary>The protocol core with the session's handler (the server's, or one of the application's per connection).</summary>
    private SmtpProtocol CreateProtocol(out bool handlerFailed)
    {
        SmtpServer server = _endpoint.Server.Server;
        SmtpSessionHandler handler;
        handlerFailed = false;
        try
        {
            handler = server.SessionHandlerFor(_session);
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(_logger, _session.Id, "session handler factory", ex);
            handler = server.DefaultSessionHandler;
            handlerFailed = true;
        }

        return new SmtpProtocol(_endpoint, _session, _transport, handler, _logger, _ignored, _trust);
    }

    /// <summary>After STARTTLS's 220: the handshake, then the reset and the secure handler.</summary>
    private async ValueTask<bool> StartTlsAsync(SmtpProtocol protocol)
    {
        if (!await TlsHandshake.RunAsync(_transport, _endpoint.Server, _session, _logger, prefix: null, startTls: true))
        {
            return false;
        }

        if (await StartTlsCommand.CompleteAsync(protocol))
        {
            return true;
        }

        await CloseAsync();
        return false;
    }

    private async ValueTask ReplyAndCloseAsync(SmtpProtocol protocol, byte[] reply)
    {
        protocol.Replies.Write(reply);
        await CloseAsync();
    }

    /// <summary>
    /// After the final reply the session is over: its client slot is free at once, then the reply is sent and the
    /// connection closed gracefully (<paramref name="clientQuit"/>: after the client's QUIT, see <see cref="ConnectionTransport.CloseGracefullyAsync"/>).
    /// </summary>
    private ValueTask CloseAsync(bool clientQuit = false)
    {
        ReleaseClientSlot();
        return _transport.CloseGracefullyAsync(_endpoint.Server.IsClosing ? 1000 : 5000, clientQuit);
    }

    private void ReleaseClientSlot()
    {
        if (_hasClientSlot)
        {
            _hasClientSlot = false;
            _endpoint.Server.Connections.ReleaseClientSlot();
        }

        if (_countedPerAddress)
        {
            _countedPerAddress = false;
            _endpoint.Server.Connections.ReleaseClientAddress(_trust.Peer);
        }
    }

    /// <summary>After the transport is gone: the transaction's and session's telemetry, the close handler, the session handler's disposal.</summary>
    private async ValueTask EndSessionAsync(SmtpProtocol protocol)
    {
        ServerContext server = _endpoint.Server;
        _session.CurrentTransaction?.Abort();
        if (!_ignored)
        {
            server.Metrics.ConnectionClosed(_startTimestamp, _countedActive, _metricTags);
            _sessionActivity?.SetTag("smtpd.session.transaction_count", _session.Transaction - 1);
            _sessionActivity?.Dispose();
            SmtpLog.Disconnected(_logger, _session.Id, _session.ClientHostname, _session.RemoteAddress, _session.Transaction - 1,
                (long)Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds);
            await protocol.Handlers.CloseAsync(server.StoppingToken);
        }

        await protocol.Handlers.DisposeHandlerAsync(server.Server.DefaultSessionHandler);
    }

    private void SetIgnored(bool ignored)
    {
        _ignored = ignored;
        _logger = ignored ? NullLogger.Instance : _endpoint.Server.Logger;
    }
}
