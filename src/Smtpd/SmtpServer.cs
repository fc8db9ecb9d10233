using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

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
    private readonly ServerContext _context;
    private readonly List<Listener> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _closeStarted;
    private int _disposed;

    /// <summary>Creates a server. The options are copied and compiled: later changes to <paramref name="options"/> have no effect.</summary>
    /// <param name="options">The configuration.</param>
    /// <exception cref="ArgumentException">An option has a value the server cannot work with.</exception>
    public SmtpServer(SmtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Clone();
        Options.Validate();
        SmtpServerOptions compiled = Options.Clone();
        DefaultSessionHandler = new SmtpSessionHandler(this);
        bool sessionHandlers = compiled.SessionHandlerFactory is not null || IsOverridden(nameof(CreateSessionHandler));
        bool connectHandler = compiled.OnConnect is not null || IsOverridden(nameof(OnConnectAsync)) || sessionHandlers;
        _context = new ServerContext(this, compiled, connectHandler, _stopping.Token);
    }

    /// <summary>
    /// The configuration the server was built with, to read (a copy of what was passed to the constructor; with the
    /// current TLS material after <see cref="UpdateSecureContext"/>). The server compiled its own copy when it was
    /// constructed: changing this object has no effect, handlers included.
    /// </summary>
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

    /// <summary>The number of client connections, from accept until their close handler has finished.</summary>
    public int ConnectionCount => _context.Connections.Count;

    /// <summary><see langword="true"/> once <see cref="CloseAsync(CancellationToken)"/> (or disposal) started.</summary>
    public bool IsClosing => _context.IsClosing;

    /// <summary>What every connection shares.</summary>
    internal ServerContext Context => _context;

    /// <summary>The handler of connections for which the application creates none: it calls the server's handlers.</summary>
    internal SmtpSessionHandler DefaultSessionHandler { get; }

    internal ILogger Logger => _context.Logger;

    /// <summary>Starts listening on <paramref name="endPoint"/> with the server's options; returns once the socket is bound and listening.</summary>
    /// <param name="endPoint">An <see cref="IPEndPoint"/> (port 0 picks a free port) or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The bound endpoint.</returns>
    public Task<EndPoint> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return ListenAsync(endPoint, _context.DefaultEndpoint, cancellationToken);
    }

    /// <summary>
    /// Starts listening on <see cref="SmtpListenOptions.EndPoint"/> with that endpoint's own TLS mode, AUTH policy,
    /// proxy trust, LMTP and size (the server's options for whatever it leaves unset); returns once the socket listens.
    /// </summary>
    /// <param name="listenOptions">The endpoint and its settings (read now; later changes have no effect).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The bound endpoint.</returns>
    /// <exception cref="ArgumentException">A setting of the endpoint cannot be used.</exception>
    public Task<EndPoint> ListenAsync(SmtpListenOptions listenOptions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        return ListenAsync(listenOptions.EndPoint, EndpointContext.Compile(_context, listenOptions), cancellationToken);
    }

    /// <summary>Runs an SMTP session on a socket that the application accepted itself. Completes when the session ends.</summary>
    /// <param name="socket">A connected socket; the server owns it from now on.</param>
    /// <param name="cancellationToken">Aborts the session.</param>
    public Task HandleConnectionAsync(Socket socket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return Run(new SmtpConnection(_context.DefaultEndpoint, socket, null, socket.RemoteEndPoint as IPEndPoint, socket.LocalEndPoint as IPEndPoint), cancellationToken);
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
        return Run(new SmtpConnection(_context.DefaultEndpoint, null, stream, remoteEndPoint, localEndPoint), cancellationToken);
    }

    /// <summary>
    /// Stops gracefully: the listeners close at once; every further command gets <c>421 Server shutting down</c>;
    /// after <see cref="SmtpServerOptions.CloseTimeout"/> idle sessions get that reply unasked and are closed, while a
    /// message being received completes. Completes when every connection has ended and its close handler has finished;
    /// cancelling aborts the connections.
    /// </summary>
    /// <param name="cancellationToken">Aborts the remaining connections when cancelled.</param>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        ConnectionRegistry connections = _context.Connections;
        if (Interlocked.Exchange(ref _closeStarted, 1) == 0)
        {
            connections.BeginClose();
            StopListeners();
            SmtpLog.Closing(Logger, connections.Count, _context.Options.CloseTimeout.TotalSeconds);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task delay = Task.Delay(_context.Options.CloseTimeout, timeout.Token);
            if (await Task.WhenAny(connections.AllClosed, delay) != connections.AllClosed)
            {
                connections.RequestShutdown();
                await connections.AllClosed.WaitAsync(cancellationToken);
            }
            else
            {
                await timeout.CancelAsync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            connections.AbortAll();
            throw;
        }

        SmtpLog.Closed(Logger);
    }

    /// <summary>
    /// Closes immediately: stops the listeners, cancels the close handlers' token and aborts every connection, then
    /// waits (5 s at most) for the connections and their close handlers to finish. Later calls do nothing.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ConnectionRegistry connections = _context.Connections;
        connections.BeginClose();
        StopListeners();
        await _stopping.CancelAsync();
        connections.AbortAll();
        await connections.DisposeAsync();
        Task[] loops;
        lock (_listeners)
        {
            loops = _listeners.Select(l => l.AcceptLoop).ToArray();
        }

        await Task.WhenAll(loops);
        try
        {
            await connections.AllClosed.WaitAsync(TimeSpan.FromSeconds(5));
            _stopping.Dispose();
        }
        catch (TimeoutException)
        {
            // Connections (or close handlers) that do not end within 5 s are left to the runtime; they keep their
            // cancelled token, so its source is not disposed under them.
        }

        _context.Metrics.Dispose();

        GC.SuppressFinalize(this);
    }

    /// <summary>Called once a client is connected (after reverse DNS), before the greeting. Reject to refuse the client.</summary>
    /// <param name="session">The new session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnConnectAsync(SmtpSession session, CancellationToken cancellationToken) =>
        _context.Options.OnConnect?.Invoke(session, cancellationToken) ?? default;

    /// <summary>Called for <c>MAIL FROM</c> once the address and parameters are valid. Reject to refuse the sender.</summary>
    /// <param name="address">The sender and its parameters.</param>
    /// <param name="session">The session; its envelope is the one this command proposes (with its BODY/SMTPUTF8/REQUIRETLS/DSN values), kept only if the sender is accepted.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnMailFromAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken) =>
        _context.Options.OnMailFrom?.Invoke(address, session, cancellationToken) ?? default;

    /// <summary>Called for every valid <c>RCPT TO</c>. Reject to refuse the recipient.</summary>
    /// <param name="address">The recipient and its parameters.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected virtual ValueTask<SmtpResult> OnRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken) =>
        _context.Options.OnRcptTo?.Invoke(address, session, cancellationToken) ?? default;

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
        if (_context.Options.OnData is { } onData)
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
        _context.Options.OnClose?.Invoke(session, cancellationToken) ?? default;

    /// <summary>
    /// Creates the handler of one connection (before its connect handler runs). The default returns what
    /// <see cref="SmtpServerOptions.SessionHandlerFactory"/> returns, or a shared handler that calls this server's
    /// <c>On…Async</c> methods. Override it to keep typed state per connection in a <see cref="SmtpSessionHandler"/>.
    /// </summary>
    /// <param name="session">The new session (its addresses are known; nothing else yet).</param>
    /// <returns>A new handler per connection, or the shared default.</returns>
    protected virtual SmtpSessionHandler CreateSessionHandler(SmtpSession session) =>
        _context.Options.SessionHandlerFactory?.Invoke(session) ?? DefaultSessionHandler;

    internal ValueTask<SmtpResult> InvokeConnectAsync(SmtpSession session, CancellationToken ct) => OnConnectAsync(session, ct);

    internal ValueTask<SmtpResult> InvokeMailFromAsync(SmtpAddress address, SmtpSession session, CancellationToken ct) => OnMailFromAsync(address, session, ct);

    internal ValueTask<SmtpResult> InvokeRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken ct) => OnRcptToAsync(address, session, ct);

    internal ValueTask<SmtpResult> InvokeDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken ct) => OnDataAsync(message, session, ct);

    internal ValueTask InvokeCloseAsync(SmtpSession session, CancellationToken ct) => OnCloseAsync(session, ct);

    /// <summary>The handler of a new connection, bound to this server.</summary>
    internal SmtpSessionHandler SessionHandlerFor(SmtpSession session)
    {
        SmtpSessionHandler handler = CreateSessionHandler(session)
            ?? throw new InvalidOperationException("CreateSessionHandler returned null.");
        handler.Attach(this);
        return handler;
    }

    private Task<EndPoint> ListenAsync(EndPoint endPoint, EndpointContext endpoint, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsClosing, this);
        cancellationToken.ThrowIfCancellationRequested();
        Listener listener = Listener.Start(endPoint, endpoint);
        lock (_listeners)
        {
            _listeners.Add(listener);
        }

        return Task.FromResult(listener.EndPoint);
    }

    private Task Run(SmtpConnection connection, CancellationToken cancellationToken)
    {
        _context.Connections.Register(connection);
        if (_stopping.IsCancellationRequested)
        {
            // Handed over after disposal: no heartbeat guards it any more, so it ends at once.
            connection.Abort();
        }

        return connection.RunAsync(cancellationToken);
    }

    private void StopListeners()
    {
        lock (_listeners)
        {
            foreach (Listener listener in _listeners)
            {
                listener.Stop();
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075",
        Justification = "If trimming removed the method's metadata, GetMethod returns null and the handler counts as overridden, which only costs a call.")]
    private bool IsOverridden(string method) =>
        GetType().GetMethod(method, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)?.DeclaringType != typeof(SmtpServer);
}
