using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>What the command loop does after a command.</summary>
internal enum Outcome : byte
{
    /// <summary>Go on with the next command.</summary>
    Continue,

    /// <summary>The last reply was final (QUIT, any 421): flush and close.</summary>
    Close,

    /// <summary>354 was written: receive the message.</summary>
    Data,

    /// <summary>220 was written for STARTTLS: discard buffered plaintext and start the handshake.</summary>
    StartTls,
}

/// <summary>
/// One client connection: reads command lines from a <see cref="PipeReader"/>, dispatches them in the reference's
/// order of checks, writes pre-encoded replies to a <see cref="PipeWriter"/> (flushed once per pipelined group),
/// streams DATA to the handler, and closes cleanly. Timeouts come from the server's heartbeat, not per-read timers.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The cancellation source is disposed when RunAsync ends; the connection has no other owner.")]
internal sealed partial class SmtpConnection : IThreadPoolWorkItem
{
    private const int PhaseNone = 0;
    private const int PhaseRead = 1;
    private const int PhaseWrite = 2;
    private const int PhaseAbort = 3;


    private readonly SmtpServer _server;
    private readonly SmtpServerOptions _options;
    private readonly ReplyTable _replies;
    private ILogger _logger;
    private readonly SmtpMetrics _metrics;
    private CancellationTokenSource? _abortSource;
    private int _abortRequested;
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private Socket? _socket;
    private Stream _stream;
    private ConnectionReader _reader;
    private ConnectionWriter _writer;
    private long _key;
    private bool _hasClientSlot;
    private bool _pendingFlush;
    private bool _closed;
    private int _unrecognizedCount;
    private int _unauthenticatedCount;
    private long _deadline;
    private int _phase;
    private volatile bool _timedOut;
    private volatile bool _shutdownRequested;
    private volatile bool _inCommandRead;
    private Task<ReadResult>? _earlyRead;
    private readonly List<int>? _lmtpReplyMap;
    private long _transactionStart;
    private SmtpCommand _lastCommand;
    private Activity? _sessionActivity;
    private Activity? _transactionActivity;

    public SmtpConnection(SmtpServer server, Socket? socket, Stream? stream, IPEndPoint? remote, IPEndPoint? local)
    {
        _server = server;
        _options = server.Options;
        _replies = server.Replies;
        _logger = server.Logger;
        _metrics = server.Metrics;
        _lmtpReplyMap = _options.Lmtp ? [] : null;
        _socket = socket;
        _stream = stream ?? new SocketStream(socket!);
        _reader = NewReader(_stream);
        _writer = new ConnectionWriter(_stream);
        Session = new SmtpSession(SmtpSession.NewId(), _options.Lmtp, !_options.HideDSN);
        if (remote is not null)
        {
            Session.RemoteAddress = IpText.Normalize(remote.Address);
            Session.RemotePort = remote.Port;
        }

        if (local is not null)
        {
            Session.LocalAddress = IpText.Normalize(local.Address);
            Session.LocalPort = local.Port;
        }
    }

    public SmtpSession Session { get; }

    /// <summary>The reader the DATA stream pulls from.</summary>
    public PipeReader Reader => _reader;

    /// <summary>Cancelled when the connection is aborted; given to every handler.</summary>
    public CancellationToken Aborted => AbortToken;

    /// <summary>The token handed to handlers; its source is made on first use, so idle connections carry none.</summary>
    private CancellationToken AbortToken => (Volatile.Read(ref _abortSource) ?? CreateAbortSource()).Token;

    private bool IsAborted => Volatile.Read(ref _abortRequested) == 1;

    private long SocketTimeoutMs => _server.SocketTimeoutMs;

    /// <summary>The client's address as a host name: <c>[192.0.2.1]</c>.</summary>
    private string BracketedRemoteAddress => "[" + Session.RemoteAddress + "]";

    void IThreadPoolWorkItem.Execute() => _ = RunAsync(CancellationToken.None);

    /// <summary>Runs the whole connection; never throws.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _key = _server.Register(this);
        using CancellationTokenRegistration external = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((SmtpConnection)s!).Abort(), this)
            : default;
        if (_server.StoppingToken.IsCancellationRequested)
        {
            // Disposed while this connection was queued: the server's dispose aborts only registered connections.
            Abort();
        }

        bool sessionStarted = false;
        try
        {
            if (!await PrepareTransportAsync())
            {
                return;
            }

            sessionStarted = true;
            if (!IsIgnored)
            {
                _metrics.ConnectionOpened();
                _sessionActivity = SmtpActivities.StartSession(Session);
            }

            if (!await StartSessionAsync())
            {
                return;
            }

            // The command loop. The wait for input is here, so an idle connection keeps one small async frame alive.
            while (true)
            {
                ReadResult result;
                _inCommandRead = true;
                if (_shutdownRequested)
                {
                    await ReplyAndCloseAsync(_replies.ShuttingDown);
                    return;
                }

                if (_earlyRead is not null || !_reader.TryRead(out result))
                {
                    // Nothing buffered: the replies of the group so far go out in one send, then wait for the client.
                    if (_pendingFlush)
                    {
                        await FlushAsync();
                    }

                    Arm(SocketTimeoutMs, PhaseRead);
                    try
                    {
                        if (_earlyRead is not null)
                        {
                            result = await _earlyRead;
                            _earlyRead = null;
                        }
                        else
                        {
                            await _reader.WaitForDataAsync();
                            result = await _reader.ReadAsync(CancellationToken.None);
                        }
                    }
                    finally
                    {
                        Disarm();
                    }
                }

                _inCommandRead = false;
                if (!await HandleInputAsync(result))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // The peer vanished or the connection was aborted: nothing to answer.
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(_logger, Session.Id, "connection", ex);
        }
        finally
        {
            await CloseTransportAsync();
            if (_hasClientSlot)
            {
                _server.ReleaseClientSlot();
            }

            _server.Unregister(_key);
            if (sessionStarted)
            {
                EndTransactionActivity("aborted");
                if (!IsIgnored)
                {
                    _metrics.ConnectionClosed(_startTimestamp);
                    _sessionActivity?.SetTag("smtpd.transactions", Session.Transaction - 1);
                    _sessionActivity?.Dispose();
                    SmtpLog.Disconnected(_logger, Session.Id, Session.ClientHostname, Session.RemoteAddress, Session.Transaction - 1,
                        (long)Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds);
                    await InvokeCloseAsync();
                }
            }

            _abortSource?.Dispose();
        }
    }

    /// <summary>From the heartbeat: fires the deadline of whatever the connection waits for.</summary>
    public void OnHeartbeat(long now)
    {
        long deadline = Volatile.Read(ref _deadline);
        if (deadline == 0 || now < deadline)
        {
            return;
        }

        Volatile.Write(ref _deadline, 0);
        _timedOut = true;
        switch (Volatile.Read(ref _phase))
        {
            case PhaseRead:
                _reader.CancelPendingRead();
                break;
            case PhaseWrite:
                _writer.CancelPendingFlush();
                Abort();
                break;
            default:
                Abort();
                break;
        }
    }

    /// <summary>After <see cref="SmtpServerOptions.CloseTimeout"/>: an idle session gets 421 and closes; one in DATA finishes its message first.</summary>
    public void RequestShutdown()
    {
        _shutdownRequested = true;
        if (_inCommandRead)
        {
            _reader.CancelPendingRead();
        }
    }

    /// <summary>Tears the transport down at once; pending reads and writes fail.</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _abortRequested, 1);
        try
        {
            Volatile.Read(ref _abortSource)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        catch (AggregateException)
        {
            // A handler's cancellation callback threw; the abort goes on.
        }

        _socket?.Dispose();
        _stream.Dispose();
    }

    private CancellationTokenSource CreateAbortSource()
    {
        var created = new CancellationTokenSource();
        if (Interlocked.CompareExchange(ref _abortSource, created, null) is { } existing)
        {
            created.Dispose();
            return existing;
        }

        // An abort that ran before the source existed found nothing to cancel.
        if (Volatile.Read(ref _abortRequested) == 1)
        {
            created.Cancel();
        }

        return created;
    }

    /// <summary>A reader over <paramref name="transport"/>; a pending read is woken by shutting the socket's receive side.</summary>
    private ConnectionReader NewReader(Stream transport) => new(transport, _socket);

    private void Arm(long timeoutMs, int phase)
    {
        Volatile.Write(ref _phase, phase);
        Volatile.Write(ref _deadline, Environment.TickCount64 + timeoutMs);
    }

    private void Disarm()
    {
        Volatile.Write(ref _deadline, 0);
        Volatile.Write(ref _phase, PhaseNone);
    }

    /// <summary>Before the SMTP session: the PROXY header (if expected), then implicit TLS (if configured).</summary>
    private async ValueTask<bool> PrepareTransportAsync() => await ReadProxyHeaderAsync() && await StartImplicitTlsAsync();

    private async ValueTask<bool> StartSessionAsync()
    {
        if (!_server.TryAcquireClientSlot())
        {
            _hasClientSlot = true;
            _metrics.ConnectionRefused("max_clients");
            SmtpLog.Refused(_logger, Session.Id, Session.RemoteAddress, "too many connected clients");
            Write(_replies.TooManyClients);
            await FlushAsync();
            return false;
        }

        _hasClientSlot = true;
        if (_options.GreetingDelay > TimeSpan.Zero)
        {
            // Anything the client sends before the greeting is answered with "You talk too soon".
            _inCommandRead = true;
            _earlyRead = _reader.ReadAsync().AsTask();
            await Task.Delay(_options.GreetingDelay, AbortToken);
        }

        await ResolveClientHostnameAsync();
        SmtpResult connect = IsIgnored || !_server.HasConnectHandler ? default
            : await InvokeHandlerAsync(static (c, ct) => c._server.InvokeConnectAsync(c.Session, ct), "connect", 554);
        if (!connect.IsAccepted)
        {
            WriteResult(connect, enhanced: false);
            _metrics.ConnectionRefused("connect_handler");
            SmtpLog.Refused(_logger, Session.Id, Session.RemoteAddress, $"connect handler: {connect.Code} {connect.Message}");
            await FlushAsync();
            return false;
        }

        if (!await SecureSessionAsync())
        {
            return false;
        }

        if (_earlyRead is { IsCompleted: true })
        {
            ReadResult early = await _earlyRead;
            _earlyRead = null;
            _inCommandRead = false;
            if (!early.IsCanceled && !early.Buffer.IsEmpty)
            {
                ReadOnlySequence<byte> buffer = early.Buffer;
                SequencePosition? lf = buffer.PositionOf((byte)'\n');
                ReadOnlySequence<byte> first = lf is null ? buffer : buffer.Slice(0, lf.Value);
                byte[] line = first.Slice(0, Math.Min(first.Length, 16)).ToArray();
                SmtpCommand command = CommandParser.Identify(line, out _);
                Write(IsGreetingCommand(command) ? _replies.TalkTooSoonPlain : _replies.TalkTooSoon);
                _metrics.ConnectionRefused("early_talker");
                SmtpLog.ClientMisbehaved(_logger, Session.Id, "client talked before the greeting");
                _reader.AdvanceTo(buffer.End);
                await FlushAsync();
                return false;
            }

            _reader.AdvanceTo(early.Buffer.Start, early.Buffer.End);
            if (early.IsCompleted)
            {
                return false;
            }
        }

        if (!IsIgnored)
        {
            SmtpLog.Connected(_logger, Session.Id, Session.ClientHostname, Session.RemoteAddress, Session.RemotePort, Session.LocalAddress, Session.LocalPort);
        }

        Write(_replies.Greeting);
        await FlushAsync();
        return true;
    }

    private async ValueTask ResolveClientHostnameAsync()
    {
        string bracketed = BracketedRemoteAddress;
        Session.ClientHostname = bracketed;
        if (_options.DisableReverseLookup || Session.RemoteAddress.Equals(IPAddress.None))
        {
            return;
        }

        IReverseDnsResolver resolver = _options.Resolver ?? SystemReverseDnsResolver.Instance;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(AbortToken);
        timeout.CancelAfter(_options.ReverseLookupTimeout);
        try
        {
            IReadOnlyList<string> names = await resolver.ReverseAsync(Session.RemoteAddress, timeout.Token).AsTask()
                .WaitAsync(_options.ReverseLookupTimeout, AbortToken);
            string? name = names.Count > 0 ? HostnameRules.Normalize(names[0]) : null;
            if (name is not null)
            {
                Session.ClientHostname = name;
            }
        }
        catch (Exception ex) when (!IsAborted)
        {
            SmtpLog.ReverseDnsFailed(_logger, Session.Id, Session.RemoteAddress, ex);
        }
    }

    /// <summary>Runs the commands in what was read (and the message, after DATA); <see langword="false"/> when the connection must end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleInputAsync(ReadResult result)
    {
        if (result.IsCanceled)
        {
            if (_timedOut)
            {
                if (!IsIgnored)
                {
                    SmtpLog.TimedOut(_logger, Session.Id, SocketTimeoutMs, Session.RemoteAddress);
                }

                await ReplyAndCloseAsync(_replies.Timeout);
                return false;
            }

            if (_shutdownRequested)
            {
                await ReplyAndCloseAsync(_replies.ShuttingDown);
                return false;
            }

            return true;
        }

        ReadOnlySequence<byte> buffer = result.Buffer;
        Outcome outcome = Outcome.Continue;
        bool tooLong = false;
        while (outcome == Outcome.Continue && TryReadLine(ref buffer, out ReadOnlySequence<byte> line, out tooLong))
        {
            if (_metrics.CommandDurationEnabled)
            {
                long commandStart = Stopwatch.GetTimestamp();
                outcome = await ExecuteAsync(line);
                _metrics.Command(_lastCommand, commandStart);
            }
            else
            {
                outcome = await ExecuteAsync(line);
            }
        }

        switch (outcome)
        {
            case Outcome.Data:
                _reader.AdvanceTo(buffer.Start);
                await FlushAsync();
                if (await ReceiveDataAsync() == Outcome.Close)
                {
                    await CloseGracefullyAsync();
                    return false;
                }

                return true;

            case Outcome.StartTls:
                // Everything the client pipelined after STARTTLS in plaintext is dropped, never executed.
                _reader.AdvanceTo(buffer.End);
                await FlushAsync();
                return await UpgradeToTlsAsync();

            case Outcome.Close:
                _reader.AdvanceTo(buffer.End);
                await CloseGracefullyAsync();
                return false;
        }

        if (tooLong)
        {
            _reader.AdvanceTo(buffer.End);
            SmtpLog.ClientMisbehaved(_logger, Session.Id, "command line too long");
            await ReplyAndCloseAsync(_replies.LineTooLong);
            return false;
        }

        if (result.IsCompleted)
        {
            // The client half-closed: a trailing unterminated line is still a command.
            if (!buffer.IsEmpty)
            {
                ReadOnlySequence<byte> rest = buffer;
                buffer = buffer.Slice(buffer.End);
                _ = await ExecuteAsync(rest);
            }

            _reader.AdvanceTo(buffer.End);
            await FlushAsync();
            return false;
        }

        _reader.AdvanceTo(buffer.Start, buffer.End);
        return true;
    }

    /// <summary>Splits off the next line (LF or CRLF ended; one CR before the LF is removed).</summary>
    private bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line, out bool tooLong)
    {
        tooLong = false;
        SequencePosition? lf = buffer.PositionOf((byte)'\n');
        int max = _options.MaxCommandLength;
        if (lf is null)
        {
            line = default;
            long length = buffer.Length;

            // An unterminated line may end with the CR of its CRLF.
            tooLong = length > max + 1 || (length == max + 1 && !EndsWithCr(buffer));
            return false;
        }

        line = buffer.Slice(0, lf.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
        if (!line.IsEmpty && EndsWithCr(line))
        {
            line = line.Slice(0, line.Length - 1);
        }

        if (line.Length > max)
        {
            tooLong = true;
            line = default;
            return false;
        }

        return true;
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> sequence)
    {
        if (sequence.IsSingleSegment)
        {
            ReadOnlySpan<byte> span = sequence.FirstSpan;
            return span.Length > 0 && span[^1] == (byte)'\r';
        }

        return sequence.Slice(sequence.Length - 1).FirstSpan[0] == (byte)'\r';
    }

    /// <summary>Runs one command line. The line's bytes are only read before the first await.</summary>
    private ValueTask<Outcome> ExecuteAsync(ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
        {
            return Execute(line.FirstSpan);
        }

        int length = (int)line.Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            line.CopyTo(rented);
            return Execute(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The dispatcher: the reference's order of checks (§5), then the command.</summary>
    private ValueTask<Outcome> Execute(ReadOnlySpan<byte> line)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogCommand(line);
        }

        if (IsAuthExchangeActive)
        {
            return ContinueAuthAsync(line);
        }

        SmtpCommand command = CommandParser.Identify(line, out int verbLength);
        _lastCommand = command;
        if (_server.IsClosing)
        {
            return Final(IsGreetingCommand(command) ? _replies.ShuttingDownPlain : _replies.ShuttingDown);
        }

        switch (command)
        {
            case SmtpCommand.Helo or SmtpCommand.Ehlo:
                Session.OpeningCommand = command == SmtpCommand.Helo ? "HELO" : "EHLO";
                if (_options.Lmtp)
                {
                    return Reply(command == SmtpCommand.Helo ? _replies.HeloNotAllowed : _replies.EhloNotAllowed);
                }

                break;
            case SmtpCommand.Lhlo:
                Session.OpeningCommand = "LHLO";
                if (!_options.Lmtp)
                {
                    command = SmtpCommand.Unknown;
                }

                break;
        }

        if (command == SmtpCommand.Unknown || IsDisabled(command))
        {
            return Unrecognized(line, verbLength, command);
        }

        if (IsAuthRequired && command != SmtpCommand.Auth && _options.MaxAllowedUnauthenticatedCommands > 0
            && ++_unauthenticatedCount >= _options.MaxAllowedUnauthenticatedCommands)
        {
            SmtpLog.ClientMisbehaved(_logger, Session.Id, "too many unauthenticated commands");
            return Final(IsGreetingCommand(command) ? _replies.TooManyUnauthenticatedPlain : _replies.TooManyUnauthenticated);
        }

        if (Session.HostNameAppearsAs is null && command is SmtpCommand.Mail or SmtpCommand.Rcpt or SmtpCommand.Data or SmtpCommand.Auth)
        {
            return Reply(_replies.SendHeloFirst);
        }

        if (IsAuthRequired && command is SmtpCommand.Mail or SmtpCommand.Rcpt or SmtpCommand.Data)
        {
            return Reply(530, "5.7.0", _options.AuthRequiredMessage);
        }

        ReadOnlySpan<byte> arguments = verbLength < line.Length ? line[(verbLength + 1)..] : default;
        switch (command)
        {
            case SmtpCommand.Helo:
            case SmtpCommand.Ehlo:
            case SmtpCommand.Lhlo:
                return Greet(command, arguments);
            case SmtpCommand.Mail:
                return MailFrom(line);
            case SmtpCommand.Rcpt:
                return RcptTo(line);
            case SmtpCommand.Data:
                return StartData();
            case SmtpCommand.Rset:
                Session.ResetEnvelope();
                return Reply(_replies.Flushed);
            case SmtpCommand.Noop:
                return Reply(_replies.Ok);
            case SmtpCommand.Quit:
                return Final(_replies.Bye);
            case SmtpCommand.Help:
                return Reply(_replies.Help);
            case SmtpCommand.Vrfy:
                return Reply(IsBlank(arguments) ? _replies.VrfySyntax : _replies.Vrfy);
            case SmtpCommand.StartTls:
                return StartTls(arguments);
            case SmtpCommand.Auth:
                return AuthAsync(arguments);
            case SmtpCommand.XClient:
                return XClientAsync(arguments);
            case SmtpCommand.XForward:
                return XForward(arguments);
            case SmtpCommand.Wiz:
                if (IsBlank(arguments))
                {
                    return Reply(_replies.NoWizard);
                }

                Session.IsWizard = true;
                return Reply(_replies.Wizard);
            case SmtpCommand.Shell:
                if (!Session.IsWizard)
                {
                    return Reply(_replies.MereMortals);
                }

                SmtpLog.ClientMisbehaved(_logger, Session.Id, "client tried to invoke SHELL");
                return Reply(_replies.ShellRefused);
            case SmtpCommand.Kill:
                SmtpLog.ClientMisbehaved(_logger, Session.Id, "client tried to invoke KILL");
                return Reply(_replies.CannotKill);
            default:
                return Unrecognized(line, verbLength, command);
        }
    }

    private ValueTask<Outcome> Unrecognized(ReadOnlySpan<byte> line, int verbLength, SmtpCommand command)
    {
        if (command == SmtpCommand.Unknown && CommandParser.IsHttpRequest(line, verbLength))
        {
            SmtpLog.ClientMisbehaved(_logger, Session.Id, "HTTP request refused");
            return Final(_replies.HttpRefused);
        }

        bool plain = IsGreetingCommand(command);
        if (_options.MaxUnrecognizedCommands > 0 && ++_unrecognizedCount >= _options.MaxUnrecognizedCommands)
        {
            SmtpLog.ClientMisbehaved(_logger, Session.Id, "too many unrecognized commands");
            return Final(plain ? _replies.TooManyUnrecognizedPlain : _replies.TooManyUnrecognized);
        }

        return Reply(plain ? _replies.UnrecognizedPlain : _replies.Unrecognized);
    }

    /// <summary>Is <paramref name="command"/> off for this connection (the session's own list replaces the server's)?</summary>
    private bool IsDisabled(SmtpCommand command)
    {
        IReadOnlyCollection<string>? own = Session.DisabledCommands;
        if (own is null)
        {
            return _server.DisabledCommands[(int)command];
        }

        string name = CommandParser.Names[(int)command];
        foreach (string entry in own)
        {
            if (string.Equals(entry?.Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>AUTH is offered on this connection: mechanisms configured and the command not disabled.</summary>
    private bool IsAuthEnabled => _server.Capabilities.HasAuthMechanisms && !IsDisabled(SmtpCommand.Auth);

    /// <summary>AUTH is enabled, not optional, and the client has not authenticated.</summary>
    private bool IsAuthRequired => Session.User is null && !_options.AuthOptional && IsAuthEnabled;

    private static bool IsGreetingCommand(SmtpCommand command) => command is SmtpCommand.Helo or SmtpCommand.Ehlo or SmtpCommand.Lhlo;

    private static bool IsBlank(ReadOnlySpan<byte> arguments) => arguments.Trim(" \t"u8).IsEmpty;

    private ValueTask<Outcome> Greet(SmtpCommand command, ReadOnlySpan<byte> arguments)
    {
        ReadOnlySpan<byte> trimmed = arguments.Trim(" \t"u8);
        if (trimmed.IsEmpty || trimmed.IndexOfAny(" \t"u8) >= 0)
        {
            return Reply(command switch
            {
                SmtpCommand.Helo => _replies.HeloSyntax,
                SmtpCommand.Ehlo => _replies.EhloSyntax,
                _ => _replies.LhloSyntax,
            });
        }

        string hostname = Encoding.UTF8.GetString(trimmed);
        if (hostname.Length > 300 || XText.HasControl(hostname))
        {
            return Reply(_replies.BadHostname);
        }

        ResetSession();
        Session.HostNameAppearsAs = hostname.ToLowerInvariant();
        string firstLine = FormatHeloResponse();
        if (command == SmtpCommand.Helo)
        {
            ReplyWriter.Write(_writer, 250, null, firstLine);
        }
        else
        {
            _server.Capabilities.Write(_writer, firstLine, CurrentCapabilities());
        }

        _pendingFlush = true;
        return new(Outcome.Continue);
    }

    private string FormatHeloResponse()
    {
        string format = _options.HeloResponse;
        if (!format.Contains("%s", StringComparison.Ordinal))
        {
            return format;
        }

        var builder = new StringBuilder(format.Length + 64);
        int index = 0;
        int position = 0;
        while (true)
        {
            int next = format.IndexOf("%s", position, StringComparison.Ordinal);
            if (next < 0)
            {
                builder.Append(format, position, format.Length - position);
                break;
            }

            builder.Append(format, position, next - position);
            builder.Append(index switch
            {
                0 => _options.Name,
                1 => Session.ClientHostname,
                _ => "",
            });
            index++;
            position = next + 2;
        }

        return builder.ToString();
    }

    private Capabilities CurrentCapabilities()
    {
        Capabilities capabilities = Capabilities.None;
        if (IsAuthEnabled && Session.User is null && IsAuthAdvertised)
        {
            capabilities |= Capabilities.Auth;
        }

        if (!Session.Secure && !_options.HideSTARTTLS && !IsDisabled(SmtpCommand.StartTls) && IsStartTlsAvailable)
        {
            capabilities |= Capabilities.StartTls;
        }

        if (Session.Secure && !_options.HideREQUIRETLS)
        {
            capabilities |= Capabilities.RequireTls;
        }

        if (IsXClientAdvertised && !IsDisabled(SmtpCommand.XClient))
        {
            capabilities |= Capabilities.XClient;
        }

        if (IsXForwardAdvertised && !IsDisabled(SmtpCommand.XForward))
        {
            capabilities |= Capabilities.XForward;
        }

        return capabilities;
    }

    /// <summary>The session reset of the reference (<c>_resetSession</c>): a new envelope; HELO identity and user are kept.</summary>
    /// <param name="clientContinues">After DATA the client usually sends its next command at once: read it without a readiness wait (a small buffer is held meanwhile).</param>
    private void ResetSession(bool clientContinues = false)
    {
        _reader.WaitForData = !clientContinues;
        EndTransactionActivity("aborted");
        Session.ResetEnvelope();
        _lmtpReplyMap?.Clear();
    }

    private ValueTask<Outcome> MailFrom(ReadOnlySpan<byte> line)
    {
        AddressParseError error = AddressParser.Parse(line, isMail: true, _options.LenientAddressParsing, out string address, out Dictionary<string, string?>? args, out string? duplicate);
        if (error == AddressParseError.Syntax)
        {
            return Reply(_replies.BadSender);
        }

        if (error == AddressParseError.DuplicateParameter)
        {
            return Reply(501, "5.5.4", $"Error: duplicate {duplicate} parameter");
        }

        if (args is not null && FirstValueless(args, "BODY", "SIZE", "RET", "ENVID") is { } valueless)
        {
            return Reply(501, "5.5.4", $"Error: {valueless} parameter requires a value");
        }

        SmtpEnvelope envelope = Session.Envelope;
        if (envelope.MailFrom is not null)
        {
            return Reply(_replies.NestedMail);
        }

        if (args is not null)
        {
            if (args.TryGetValue("SIZE", out string? sizeText))
            {
                if (!IsSizeSyntax(sizeText!))
                {
                    return Reply(_replies.BadSizeSyntax);
                }

                if (_options.Size > 0 && !_options.HideSize && (!ulong.TryParse(sizeText, out ulong declared) || declared > (ulong)_options.Size))
                {
                    return Reply(_replies.MessageTooBig);
                }
            }

            string? body = null;
            if (args.TryGetValue("BODY", out body) && !string.Equals(body, "7BIT", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(body, "8BITMIME", StringComparison.OrdinalIgnoreCase))
            {
                return Reply(_replies.BadBody);
            }

            if (args.TryGetValue("SMTPUTF8", out string? utf8) && utf8 is not null)
            {
                return Reply(_replies.BadSmtpUtf8);
            }

            bool requireTls = args.TryGetValue("REQUIRETLS", out string? requireTlsValue);
            if (requireTls)
            {
                if (!Session.Secure)
                {
                    return Reply(_replies.RequireTlsNotPermitted);
                }

                if (requireTlsValue is not null)
                {
                    return Reply(_replies.BadRequireTls);
                }
            }

            string? ret = null;
            if (envelope.Dsn is not null && args.TryGetValue("RET", out ret)
                && !string.Equals(ret, "FULL", StringComparison.OrdinalIgnoreCase) && !string.Equals(ret, "HDRS", StringComparison.OrdinalIgnoreCase))
            {
                return Reply(_replies.BadRet);
            }

            // Applied before the handler runs, and kept if it refuses (as the reference).
            if (body is not null)
            {
                envelope.BodyType = body.ToLowerInvariant();
            }

            envelope.SmtpUtf8 |= args.ContainsKey("SMTPUTF8");
            envelope.RequireTls |= requireTls;
            if (envelope.Dsn is not null)
            {
                if (ret is not null)
                {
                    envelope.Dsn.Ret = ret.ToUpperInvariant();
                }

                if (args.TryGetValue("ENVID", out string? envId))
                {
                    envelope.Dsn.EnvId = envId;
                }
            }
        }

        var sender = new SmtpAddress(address, args);
        return CompleteMailFromAsync(sender);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> CompleteMailFromAsync(SmtpAddress sender)
    {
        SmtpResult result = await InvokeHandlerAsync(static (c, ct) => c._server.InvokeMailFromAsync((SmtpAddress)c._handlerArgument!, c.Session, ct), "MAIL FROM", 550, sender);
        if (!result.IsAccepted)
        {
            return WriteResult(result);
        }

        Session.Envelope.MailFrom = sender;
        _transactionStart = Stopwatch.GetTimestamp();

        // The client sends RCPT, DATA and the message next: read at once rather than wait for readiness first.
        _reader.WaitForData = false;

        _transactionActivity = SmtpActivities.StartTransaction(Session, sender.Address);
        Write(_replies.MailAccepted);
        return Outcome.Continue;
    }

    private ValueTask<Outcome> RcptTo(ReadOnlySpan<byte> line)
    {
        AddressParseError error = AddressParser.Parse(line, isMail: false, _options.LenientAddressParsing, out string address, out Dictionary<string, string?>? args, out string? duplicate);
        if (error == AddressParseError.Syntax || address.Length == 0)
        {
            return Reply(_replies.BadRecipient);
        }

        if (error == AddressParseError.DuplicateParameter)
        {
            return Reply(501, "5.5.4", $"Error: duplicate {duplicate} parameter");
        }

        if (args is not null && FirstValueless(args, "NOTIFY", "ORCPT") is { } valueless)
        {
            return Reply(501, "5.5.4", $"Error: {valueless} parameter requires a value");
        }

        SmtpEnvelope envelope = Session.Envelope;
        if (envelope.MailFrom is null)
        {
            return Reply(_replies.NeedMail);
        }

        SmtpRecipientDsn? dsn = null;
        if (Session.DsnEnabled)
        {
            string[]? notify = null;
            string? orcpt = null;
            if (args is not null && args.TryGetValue("NOTIFY", out string? notifyText))
            {
                notify = notifyText!.ToUpperInvariant().Split(',');
                foreach (string value in notify)
                {
                    if (value is not ("NEVER" or "SUCCESS" or "FAILURE" or "DELAY"))
                    {
                        return Reply(_replies.BadNotify);
                    }
                }

                if (notify.Length > 1 && Array.IndexOf(notify, "NEVER") >= 0)
                {
                    return Reply(_replies.NotifyNeverCombined);
                }
            }

            if (args is not null && args.TryGetValue("ORCPT", out orcpt) && !IsOrcptSyntax(orcpt!))
            {
                return Reply(_replies.BadOrcpt);
            }

            if (notify is not null || orcpt is not null)
            {
                dsn = new SmtpRecipientDsn(notify, orcpt);
            }
        }

        int existing = IndexOfRecipient(envelope, address);
        if (_options.MaxRecipients > 0 && existing < 0 && envelope.RcptTo.Count >= _options.MaxRecipients)
        {
            return Reply(_replies.TooManyRecipients);
        }

        var recipient = new SmtpAddress(address, args) { Dsn = dsn };
        return CompleteRcptToAsync(recipient);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> CompleteRcptToAsync(SmtpAddress recipient)
    {
        SmtpResult result = await InvokeHandlerAsync(static (c, ct) => c._server.InvokeRcptToAsync((SmtpAddress)c._handlerArgument!, c.Session, ct), "RCPT TO", 550, recipient);
        if (!result.IsAccepted)
        {
            return WriteResult(result);
        }

        List<SmtpAddress> recipients = Session.Envelope.Recipients;
        int existing = IndexOfRecipient(Session.Envelope, recipient.Address);
        if (existing >= 0)
        {
            recipients[existing] = recipient;
        }
        else
        {
            existing = recipients.Count;
            recipients.Add(recipient);
        }

        // LMTP answers once per accepted RCPT command (RFC 2033), even for a repeated address.
        _lmtpReplyMap?.Add(existing);
        Write(_replies.RcptAccepted);
        return Outcome.Continue;
    }

    private static int IndexOfRecipient(SmtpEnvelope envelope, string address)
    {
        IReadOnlyList<SmtpAddress> recipients = envelope.RcptTo;
        for (int i = 0; i < recipients.Count; i++)
        {
            if (string.Equals(recipients[i].Address, address, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static string? FirstValueless(Dictionary<string, string?> args, params ReadOnlySpan<string> keys)
    {
        foreach (string key in keys)
        {
            if (args.TryGetValue(key, out string? value) && value is null)
            {
                return key;
            }
        }

        return null;
    }

    private static bool IsSizeSyntax(string value)
    {
        if (value.Length is 0 or > 20)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>addr-type ";" xtext</c> with an atext address type and at least one character after the semicolon.</summary>
    private static bool IsOrcptSyntax(string value)
    {
        int semicolon = value.IndexOf(';', StringComparison.Ordinal);
        if (semicolon < 1 || semicolon == value.Length - 1)
        {
            return false;
        }

        foreach (char c in value.AsSpan(0, semicolon))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+/=?^_`{|}~-".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    private ValueTask<Outcome> StartData()
    {
        if (Session.Envelope.RcptTo.Count == 0)
        {
            return Reply(_replies.NeedRcpt);
        }

        Write(_replies.StartData);
        return new(Outcome.Data);
    }

    /// <summary>Receives the message into the DATA handler and answers it. Returns <see cref="Outcome.Close"/> when the connection must end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> ReceiveDataAsync()
    {
        _reader.ReadSize = ConnectionReader.MessageReadSize;
        var message = new SmtpDataStream(this, _options.Size);
        SmtpResult result;
        try
        {
            result = await _server.InvokeDataAsync(message, Session, AbortToken);
        }
        catch (Exception ex) when (message.Failure is not null || IsConnectionFailure(ex))
        {
            return await DataFailedAsync(message);
        }
        catch (SmtpException ex)
        {
            result = ToResult(ex, 450);
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(_logger, Session.Id, "DATA", ex);
            result = InternalError;
        }

        try
        {
            await message.DrainAsync(AbortToken);
        }
        catch (Exception ex) when (message.Failure is not null || IsConnectionFailure(ex))
        {
            return await DataFailedAsync(message);
        }

        bool oversized = _options.RejectOversized && message.SizeExceeded;
        bool accepted = WriteDataReplies(result, oversized);
        _metrics.Message(accepted, message.ByteLength, _transactionStart);
        string description = oversized ? "552 message too big" : DescribeResult(result);
        LogTransaction(message.ByteLength, description);
        if (_transactionActivity is { } activity)
        {
            activity.SetTag("smtpd.message.size", message.ByteLength);
            activity.SetTag("smtpd.recipients", Session.Envelope.RcptTo.Count);
            if (!accepted)
            {
                activity.SetStatus(ActivityStatusCode.Error, description);
            }
        }

        EndTransactionActivity(accepted ? "accepted" : "refused");
        Session.Transaction++;
        _unrecognizedCount = 0;
        _reader.ReadSize = ConnectionReader.CommandReadSize;
        ResetSession(clientContinues: true);
        return _closeAfterReply ? Outcome.Close : Outcome.Continue;
    }

    /// <summary>The client vanished or timed out mid-message: nothing is acknowledged.</summary>
    private async ValueTask<Outcome> DataFailedAsync(SmtpDataStream message)
    {
        LogTransaction(message.ByteLength, "connection lost before the end of the message");
        if (_timedOut && !_closed)
        {
            SmtpLog.TimedOut(_logger, Session.Id, SocketTimeoutMs, Session.RemoteAddress);
            Write(_replies.Timeout);
            try
            {
                await FlushAsync();
            }
            catch (Exception ex) when (IsConnectionFailure(ex))
            {
                // Gone as well.
            }
        }

        return Outcome.Close;
    }

    /// <summary>Writes the reply (LMTP: one per accepted recipient); <see langword="true"/> when at least one of them accepts the message.</summary>
    private bool WriteDataReplies(SmtpResult result, bool oversized)
    {
        bool anyAccepted = false;
        int replies = _lmtpReplyMap?.Count ?? 1;
        for (int i = 0; i < replies; i++)
        {
            if (oversized)
            {
                Write(_replies.MessageTooBig);
                continue;
            }

            SmtpResult item = result;
            if (result.RecipientResults is { } perRecipient)
            {
                int index = _lmtpReplyMap?[i] ?? 0;
                if (!_options.Lmtp)
                {
                    // SMTP has one reply: the first refusal, else the first result.
                    item = perRecipient.Count == 0 ? default : perRecipient.FirstOrDefault(r => !r.IsAccepted, perRecipient[0]);
                }
                else if (index < perRecipient.Count)
                {
                    item = perRecipient[index];
                }
                else
                {
                    SmtpLog.ClientMisbehaved(_logger, Session.Id, "the DATA handler returned fewer results than recipients");
                    item = InternalError;
                }

                if (item.RecipientResults is not null)
                {
                    item = InternalError;
                }
            }

            anyAccepted |= item.IsAccepted;
            if (!item.IsAccepted)
            {
                WriteResult(item);
            }
            else if (item.Message is { } text)
            {
                ReplyWriter.Write(_writer, 250, _replies.Enhanced ? "2.6.0" : null, text);
                _pendingFlush = true;
            }
            else
            {
                Write(_options.Lmtp ? _replies.MessageAccepted : _replies.MessageQueued);
            }
        }

        return anyAccepted;
    }

    private static SmtpResult InternalError => SmtpResult.Reject(451, "Error: internal server error", "4.3.0");

    private static string DescribeResult(SmtpResult result)
    {
        if (result.RecipientResults is { } list)
        {
            return string.Join(", ", list.Select(r => r.IsAccepted ? "250" : r.Code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return result.IsAccepted ? "250 accepted" : $"{result.Code} {result.Message}";
    }

    private void EndTransactionActivity(string result)
    {
        if (_transactionActivity is { } activity)
        {
            _transactionActivity = null;
            activity.SetTag("smtpd.transaction.result", result);
            activity.Dispose();
        }
    }

    private void LogTransaction(long size, string outcome)
    {
        if (IsIgnored || !_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        SmtpEnvelope envelope = Session.Envelope;
        long duration = _transactionStart == 0 ? 0 : (long)Stopwatch.GetElapsedTime(_transactionStart).TotalMilliseconds;
        SmtpLog.Transaction(_logger, Session.Id, envelope.MailFrom?.Address ?? "", envelope.RcptTo.Count,
            string.Join(">, <", envelope.RcptTo.Select(r => r.Address)), size, duration, outcome);
    }

    /// <summary>Reads for the DATA stream under the idle timeout; a timeout or abort fails the read.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadResult> ReadDataAsync(CancellationToken cancellationToken)
    {
        Arm(SocketTimeoutMs, PhaseRead);
        ReadResult result;
        try
        {
            result = await _reader.ReadAsync(cancellationToken);
        }
        finally
        {
            Disarm();
        }

        if (result.IsCanceled)
        {
            throw new IOException(_timedOut ? "The client sent nothing within the socket timeout." : "The connection is closing.");
        }

        return result;
    }

    private object? _handlerArgument;
    private bool _closeAfterReply;

    /// <summary>
    /// Runs a handler with the reference's error rules: <see cref="SmtpException"/> becomes its reply (code defaulting
    /// to <paramref name="defaultCode"/>), any other exception <c>451 4.3.0</c> (logged); the connection goes on.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SmtpResult> InvokeHandlerAsync(Func<SmtpConnection, CancellationToken, ValueTask<SmtpResult>> handler, string name, int defaultCode, object? argument = null)
    {
        _handlerArgument = argument;
        try
        {
            return await handler(this, AbortToken);
        }
        catch (SmtpException ex)
        {
            return ToResult(ex, defaultCode);
        }
        catch (Exception ex) when (!IsAborted)
        {
            SmtpLog.HandlerFailed(_logger, Session.Id, name, ex);
            return InternalError;
        }
        finally
        {
            _handlerArgument = null;
        }
    }

    private static SmtpResult ToResult(SmtpException ex, int defaultCode) =>
        SmtpResult.Reject(ex.ResponseCode ?? defaultCode, ex.Message, ex.EnhancedCode is { } e && EnhancedStatusCode.IsValid(e, ex.ResponseCode ?? defaultCode) ? e : null);

    private async ValueTask InvokeCloseAsync()
    {
        try
        {
            await _server.InvokeCloseAsync(Session, _server.StoppingToken);
        }
        catch (Exception ex)
        {
            SmtpLog.HandlerFailed(_logger, Session.Id, "close", ex);
        }
    }

    private void Write(byte[] reply)
    {
        _writer.Write(reply);
        _pendingFlush = true;
        if (reply[0] >= (byte)'4')
        {
            Session.SetErrorLine(reply);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(_logger, Session.Id, Encoding.UTF8.GetString(reply.AsSpan(0, reply.Length - 2)));
        }
    }

    /// <summary>Writes a handler's result (a rejection, or a 2xx with custom text); a 421 makes the outcome <see cref="Outcome.Close"/>.</summary>
    private Outcome WriteResult(SmtpResult result, bool enhanced = true)
    {
        int code = result.Code == 0 ? 250 : result.Code;
        string text = result.Message ?? "";
        string? enh = enhanced ? _replies.EnhancedFor(code, result.EnhancedCode) : null;
        ReplyWriter.Write(_writer, code, enh, text);
        _pendingFlush = true;
        if (code >= 400)
        {
            Session.Error = enh is null ? $"{code} {ReplyText(text)}" : $"{code} {enh} {ReplyText(text)}";
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(_logger, Session.Id, $"{code} {enh} {text}");
        }

        if (code == 421)
        {
            _closeAfterReply = true;
            return Outcome.Close;
        }

        return Outcome.Continue;
    }

    private static string ReplyText(string text) => XText.HasControl(text)
        ? string.Create(text.Length, text, static (span, t) =>
        {
            for (int i = 0; i < t.Length; i++)
            {
                span[i] = t[i] < 0x20 || (t[i] >= 0x7F && t[i] <= 0x9F) ? ' ' : t[i];
            }
        })
        : text;

    private ValueTask<Outcome> Reply(byte[] reply)
    {
        Write(reply);
        return new(Outcome.Continue);
    }

    private ValueTask<Outcome> Reply(int code, string enhanced, string text)
    {
        string? enh = _replies.Enhanced ? enhanced : null;
        ReplyWriter.Write(_writer, code, enh, text);
        _pendingFlush = true;
        if (code >= 400)
        {
            Session.Error = enh is null ? $"{code} {text}" : $"{code} {enh} {text}";
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(_logger, Session.Id, Session.Error ?? text);
        }

        return new(Outcome.Continue);
    }

    /// <summary>Writes a reply after which the connection closes (QUIT's 221, any 421).</summary>
    private ValueTask<Outcome> Final(byte[] reply)
    {
        Write(reply);
        return new(Outcome.Close);
    }

    private async ValueTask ReplyAndCloseAsync(byte[] reply)
    {
        Write(reply);
        await CloseGracefullyAsync();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushAsync()
    {
        if (_closed)
        {
            return;
        }

        _pendingFlush = false;
        Arm(SocketTimeoutMs, PhaseWrite);
        try
        {
            FlushResult flush = await _writer.FlushAsync();
            if (flush.IsCanceled)
            {
                throw new IOException("The client did not read its replies within the socket timeout.");
            }
        }
        finally
        {
            Disarm();
        }
    }

    /// <summary>After a final reply: flush, send FIN, and wait briefly for the client to close so the reply is not lost to a reset.</summary>
    private async ValueTask CloseGracefullyAsync()
    {
        try
        {
            await FlushAsync();
            await ShutdownTlsAsync();
            if (_socket is not null)
            {
                _socket.Shutdown(SocketShutdown.Send);

                // Linger for the client's FIN (5 s at most, 1 s while the server shuts down) so the reply is not reset away.
                Arm(Math.Min(SocketTimeoutMs, _server.IsClosing ? 1000 : 5000), PhaseRead);
                try
                {
                    while (true)
                    {
                        ReadResult result = await _reader.ReadAsync();
                        _reader.AdvanceTo(result.Buffer.End);
                        if (result.IsCompleted || result.IsCanceled)
                        {
                            break;
                        }
                    }
                }
                finally
                {
                    Disarm();
                }
            }
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // The client left first; nothing more to do.
        }
    }

    private async ValueTask CloseTransportAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        Disarm();
        try
        {
            await _reader.CompleteAsync();
            await _writer.CompleteAsync();
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // Unflushed bytes to a dead peer.
        }

        try
        {
            await _stream.DisposeAsync();
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // TLS close_notify to a dead peer.
        }

        _socket?.Dispose();
    }

    private static bool IsConnectionFailure(Exception ex) =>
        ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or System.Security.Authentication.AuthenticationException;

    private void LogCommand(ReadOnlySpan<byte> line)
    {
        string text;
        if (IsAuthExchangeActive)
        {
            text = "/* secured */";
        }
        else
        {
            SmtpCommand command = CommandParser.Identify(line, out int verbLength);
            text = command == SmtpCommand.Auth ? RedactAuthCommand(line, verbLength) : Encoding.UTF8.GetString(line);
        }

        SmtpLog.Command(_logger, Session.Id, text);
    }
}
