using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Smtpd;

/// <summary>
/// An SMTP or LMTP server. Configure it with <see cref="SmtpServerOptions"/>, give it handlers (as delegates on the
/// options or by overriding the <c>On…Async</c> methods of a subclass), then call <see cref="ListenAsync(EndPoint, CancellationToken)"/>
/// for each endpoint, or hand it accepted sockets or streams. <see cref="CloseAsync(CancellationToken)"/> stops gracefully.
/// </summary>
/// <example>
/// <code>
/// var server = new SmtpServer(new SmtpServerOptions
/// {
///     AuthOptional = true,
///     OnData = async (message, session, ct) =>
///     {
///         await message.CopyToAsync(Stream.Null, ct);
///         return SmtpResult.Accept();
///     },
/// });
/// await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 2525));
/// </code>
/// </example>
public partial class SmtpServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, SmtpConnection> _connections = new();
    private readonly List<Listener> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _heartbeat;
    private readonly ILoggerFactory? _ownedLoggerFactory;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextConnectionKey;
    private int _clientCount;
    private volatile bool _closing;
    private int _closeStarted;
    private int _disposed;

    /// <summary>Creates a server. The options are copied: later changes to <paramref name="options"/> have no effect.</summary>
    /// <param name="options">The configuration.</param>
    public SmtpServer(SmtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Clone();
        Options.Validate();
        if (Options.Logger is not null)
        {
            Logger = Options.Logger;
        }
        else if (Options.LoggerFactory is not null)
        {
            Logger = Options.LoggerFactory.CreateLogger(Options.Component);
        }
        else if (Options.LogToConsole)
        {
            _ownedLoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(builder => builder.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
            }).SetMinimumLevel(LogLevel.Debug));
            Logger = _ownedLoggerFactory.CreateLogger(Options.Component);
        }
        else
        {
            Logger = NullLogger.Instance;
        }

        Metrics = new SmtpMetrics(Options.MeterFactory);
        Replies = new ReplyTable(Options);
        Capabilities = new CapabilityTable(Options);
        DisabledCommands = BuildDisabledTable(Options.DisabledCommands);
        SocketTimeoutMs = (long)Options.SocketTimeout.TotalMilliseconds;
        long tick = Math.Clamp(SocketTimeoutMs / 10, 10, 1000);
        _heartbeat = TimeProvider.System.CreateTimer(static state => ((SmtpServer)state!).OnHeartbeat(), this, TimeSpan.FromMilliseconds(tick), TimeSpan.FromMilliseconds(tick));
        HasConnectHandler = Options.OnConnect is not null || IsOverridden(nameof(OnConnectAsync));
        InitializeTls();
    }

    /// <summary>The server's configuration (a copy of what was passed to the constructor).</summary>
    public SmtpServerOptions Options { get; }

    /// <summary>The endpoints the server listens on, with the actual ports when port 0 was asked for.</summary>
    public IReadOnlyList<EndPoint> EndPoints
    {
        get
        {
            lock (_listeners)
            {
                return _listeners.Select(l => l.EndPoint).ToArray();
            }
        }
    }

    /// <summary>The number of open client connections.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary><see langword="true"/> once <see cref="CloseAsync(CancellationToken)"/> was called.</summary>
    public bool IsClosing => _closing;

    internal ILogger Logger { get; }

    internal ReplyTable Replies { get; }

    internal SmtpMetrics Metrics { get; }

    internal CapabilityTable Capabilities { get; }

    internal bool[] DisabledCommands { get; }

    /// <summary>Whether a connect handler exists (a delegate or an override); without one, connecting costs no handler call.</summary>
    internal bool HasConnectHandler { get; }

    internal long SocketTimeoutMs { get; }

    /// <summary>Cancelled when the server is disposed: aborts everything still running.</summary>
    internal CancellationToken StoppingToken => _stopping.Token;

    /// <summary>Starts listening on <paramref name="endPoint"/>; returns once the socket is bound and listening.</summary>
    /// <param name="endPoint">An <see cref="IPEndPoint"/> (port 0 picks a free port) or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The bound endpoint.</returns>
    public Task<EndPoint> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ObjectDisposedException.ThrowIf(_closing, this);
        cancellationToken.ThrowIfCancellationRequested();
        var socket = endPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint is IPEndPoint { Address: var address } && address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endPoint);
            socket.Listen(1024);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new Listener(socket, socket.LocalEndPoint!);
        lock (_listeners)
        {
            _listeners.Add(listener);
        }

        SmtpLog.Listening(Logger, listener.EndPoint);
        listener.AcceptLoop = Task.Run(() => AcceptLoopAsync(listener), CancellationToken.None);
        return Task.FromResult(listener.EndPoint);
    }

    /// <summary>Runs an SMTP session on a socket that the application accepted itself. Completes when the session ends.</summary>
    /// <param name="socket">A connected socket; the server owns it from now on.</param>
    /// <param name="cancellationToken">Aborts the session.</param>
    public Task HandleConnectionAsync(Socket socket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var connection = new SmtpConnection(this, socket, null, socket.RemoteEndPoint as IPEndPoint, socket.LocalEndPoint as IPEndPoint);
        return connection.RunAsync(cancellationToken);
    }

    /// <summary>
    /// Runs an SMTP session on any duplex stream (a pipe, an in-memory transport, a stream whose TLS the caller already
    /// terminated: an authenticated <see cref="System.Net.Security.SslStream"/> makes the session secure). No PROXY header
    /// is processed on this path; <see cref="SmtpServerOptions.Secure"/> makes the server do the TLS handshake on a plain
    /// stream. Completes when the session ends.
    /// </summary>
    /// <param name="stream">The transport; the server disposes it at the end of the session.</param>
    /// <param name="remoteEndPoint">The client's address, if known.</param>
    /// <param name="localEndPoint">The local address, if known.</param>
    /// <param name="cancellationToken">Aborts the session.</param>
    public Task HandleStreamAsync(Stream stream, IPEndPoint? remoteEndPoint = null, IPEndPoint? localEndPoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var connection = new SmtpConnection(this, null, stream, remoteEndPoint, localEndPoint);
        return connection.RunAsync(cancellationToken);
    }

    /// <summary>
    /// Stops gracefully: the listeners close at once; every further command gets <c>421 Server shutting down</c>;
    /// after <see cref="SmtpServerOptions.CloseTimeout"/> idle sessions get that reply unasked and are closed, while a
    /// message being received completes. Completes when every connection has ended; cancelling aborts them.
    /// </summary>
    /// <param name="cancellationToken">Aborts the remaining connections when cancelled.</param>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closeStarted, 1) == 0)
        {
            _closing = true;
            StopListeners();
            AbortPendingSockets();
            AbortPendingHandshakes();
            SmtpLog.Closing(Logger, _connections.Count, Options.CloseTimeout.TotalSeconds);
            CheckAllClosed();
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task delay = Task.Delay(Options.CloseTimeout, timeout.Token);
            if (await Task.WhenAny(_allClosed.Task, delay) != _allClosed.Task)
            {
                foreach (SmtpConnection connection in _connections.Values)
                {
                    connection.RequestShutdown();
                }

                await _allClosed.Task.WaitAsync(cancellationToken);
            }
            else
            {
                await timeout.CancelAsync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            foreach (SmtpConnection connection in _connections.Values)
            {
                connection.Abort();
            }

            throw;
        }

        SmtpLog.Closed(Logger);
    }

    /// <summary>Closes immediately: stops the listeners and aborts every connection. Later calls do nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _closing = true;
        StopListeners();
        await _stopping.CancelAsync();
        foreach (SmtpConnection connection in _connections.Values)
        {
            connection.Abort();
        }

        CheckAllClosed();

        await _heartbeat.DisposeAsync();
        Task[] loops;
        lock (_listeners)
        {
            loops = _listeners.Select(l => l.AcceptLoop ?? Task.CompletedTask).ToArray();
        }

        await Task.WhenAll(loops);
        try
        {
            await _allClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // Connections that do not notice the abort within 5 s are left to the runtime.
        }

        _ownedLoggerFactory?.Dispose();
        Metrics.Dispose();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Called once a client is connected (after reverse DNS), before the greeting. Reject to refuse the client.</summary>
    /// <param name="session">The new session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnConnectAsync(SmtpSession session, CancellationToken cancellationToken) =>
        Options.OnConnect?.Invoke(session, cancellationToken) ?? default;

    /// <summary>Called for <c>MAIL FROM</c> once the address and parameters are valid. Reject to refuse the sender.</summary>
    /// <param name="address">The sender and its parameters.</param>
    /// <param name="session">The session; the envelope already carries this command's BODY/SMTPUTF8/REQUIRETLS/DSN values.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnMailFromAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken) =>
        Options.OnMailFrom?.Invoke(address, session, cancellationToken) ?? default;

    /// <summary>Called for every valid <c>RCPT TO</c>. Reject to refuse the recipient.</summary>
    /// <param name="address">The recipient and its parameters.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken) =>
        Options.OnRcptTo?.Invoke(address, session, cancellationToken) ?? default;

    /// <summary>
    /// Called when DATA starts with the message stream. The default reads the message to the end and accepts it
    /// (<c>250 OK: message queued</c>).
    /// </summary>
    /// <param name="message">The dot-unstuffed message as it arrives.</param>
    /// <param name="session">The session with the envelope of this transaction.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    protected virtual async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(session);
        if (Options.OnData is { } onData)
        {
            return await onData(message, session, cancellationToken);
        }

        await message.CopyToAsync(Stream.Null, cancellationToken);
        SmtpLog.DefaultDataHandler(Logger, session.Id, message.ByteLength);
        return default;
    }

    /// <summary>Called once per connection after it closed.</summary>
    /// <param name="session">The session as it was at the end.</param>
    /// <param name="cancellationToken">Cancelled when the server is disposed.</param>
    protected virtual ValueTask OnCloseAsync(SmtpSession session, CancellationToken cancellationToken) =>
        Options.OnClose?.Invoke(session, cancellationToken) ?? default;

    internal ValueTask<SmtpResult> InvokeConnectAsync(SmtpSession session, CancellationToken ct) => OnConnectAsync(session, ct);

    internal ValueTask<SmtpResult> InvokeMailFromAsync(SmtpAddress address, SmtpSession session, CancellationToken ct) => OnMailFromAsync(address, session, ct);

    internal ValueTask<SmtpResult> InvokeRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken ct) => OnRcptToAsync(address, session, ct);

    internal ValueTask<SmtpResult> InvokeDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken ct) => OnDataAsync(message, session, ct);

    internal ValueTask InvokeCloseAsync(SmtpSession session, CancellationToken ct) => OnCloseAsync(session, ct);

    /// <summary>Registers a connection for the heartbeat and shutdown; returns its key.</summary>
    internal long Register(SmtpConnection connection)
    {
        long key = Interlocked.Increment(ref _nextConnectionKey);
        _connections[key] = connection;
        return key;
    }

    internal void Unregister(long key)
    {
        _connections.TryRemove(key, out _);
        CheckAllClosed();
    }

    /// <summary>Takes a client slot; <see langword="false"/> when <see cref="SmtpServerOptions.MaxClients"/> are already connected.</summary>
    internal bool TryAcquireClientSlot()
    {
        int count = Interlocked.Increment(ref _clientCount);
        return Options.MaxClients <= 0 || count <= Options.MaxClients;
    }

    internal void ReleaseClientSlot() => Interlocked.Decrement(ref _clientCount);

    private void CheckAllClosed()
    {
        if (_closing && _connections.IsEmpty)
        {
            _allClosed.TrySetResult();
        }
    }

    private void OnHeartbeat()
    {
        long now = Environment.TickCount64;
        foreach (KeyValuePair<long, SmtpConnection> entry in _connections)
        {
            entry.Value.OnHeartbeat(now);
        }
    }

    private async Task AcceptLoopAsync(Listener listener)
    {
        while (!_closing)
        {
            Socket socket;
            try
            {
                socket = await listener.Socket.AcceptAsync(_stopping.Token);
            }
            catch (Exception) when (_closing || _stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException ex)
            {
                // Transient accept errors (a client reset while queued, descriptor exhaustion) must not stop the listener.
                SmtpLog.AcceptFailed(Logger, ex);
                if (ex.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    await Task.Delay(50);
                }

                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            if (socket.AddressFamily != AddressFamily.Unix)
            {
                socket.NoDelay = true;
            }

            // A listener bound to one address shares its endpoint with every connection (no endpoint object per accept).
            IPEndPoint? local = listener.SharedLocalEndPoint ?? socket.LocalEndPoint as IPEndPoint;
            var connection = new SmtpConnection(this, socket, null, socket.RemoteEndPoint as IPEndPoint, local);
            ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
        }
    }

    private void StopListeners()
    {
        lock (_listeners)
        {
            foreach (Listener listener in _listeners)
            {
                listener.Socket.Dispose();
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075",
        Justification = "If trimming removed the method's metadata, GetMethod returns null and the handler counts as overridden, which only costs a call.")]
    private bool IsOverridden(string method) =>
        GetType().GetMethod(method, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)?.DeclaringType != typeof(SmtpServer);

    private static bool[] BuildDisabledTable(IList<string> disabled)
    {
        var table = new bool[CommandParser.Names.Length];
        foreach (string entry in disabled)
        {
            int index = Array.IndexOf(CommandParser.Names, entry.Trim().ToUpperInvariant());
            if (index > 0)
            {
                table[index] = true;
            }
        }

        return table;
    }

    private sealed class Listener(Socket socket, EndPoint endPoint)
    {
        public Socket Socket { get; } = socket;

        public EndPoint EndPoint { get; } = endPoint;

        public Task? AcceptLoop { get; set; }

        /// <summary>The bound endpoint when it names one address (not a wildcard), so connections can share it.</summary>
        public IPEndPoint? SharedLocalEndPoint { get; } =
            endPoint is IPEndPoint ip && !ip.Address.Equals(IPAddress.Any) && !ip.Address.Equals(IPAddress.IPv6Any) ? ip : null;
    }
}
