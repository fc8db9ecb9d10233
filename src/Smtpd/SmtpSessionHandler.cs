namespace Smtpd;

/// <summary>
/// The handlers of one connection, for applications that keep typed state per connection (the model of go-smtp's
/// <c>Backend.NewSession</c>): return a new instance for each connection from
/// <see cref="SmtpServerOptions.SessionHandlerFactory"/> (or an override of <c>SmtpServer.CreateSessionHandler</c>) and
/// keep the connection's state in its fields. Every method defaults to the server's handler (the delegate on
/// <see cref="SmtpServerOptions"/> or the <see cref="SmtpServer"/> override), so a subclass overrides only what it
/// needs. After the connection closed and <see cref="OnCloseAsync"/> ran, an instance that is <see cref="IAsyncDisposable"/>
/// or <see cref="IDisposable"/> is disposed.
/// </summary>
/// <example>
/// <code>
/// var server = new SmtpServer(new SmtpServerOptions { SessionHandlerFactory = session => new Delivery(queue) });
///
/// sealed class Delivery(IMailQueue queue) : SmtpSessionHandler
/// {
///     private int _messages;                      // state of this connection only
///
///     protected override async ValueTask&lt;SmtpResult&gt; OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken ct)
///     {
///         await queue.EnqueueAsync(session.Envelope, message, ct);
///         return SmtpResult.Accept($"Queued, message {++_messages} on this connection");
///     }
/// }
/// </code>
/// </example>
public class SmtpSessionHandler
{
    private SmtpServer? _server;

    /// <summary>Creates a handler; the server it serves is set when the server takes it.</summary>
    protected SmtpSessionHandler()
    {
    }

    internal SmtpSessionHandler(SmtpServer server) => _server = server;

    /// <summary>The server whose connection this handler serves.</summary>
    /// <exception cref="InvalidOperationException">The handler has not been taken by a server yet.</exception>
    public SmtpServer Server => _server ?? throw new InvalidOperationException("This session handler has not been given to a server yet.");

    /// <summary>Called once the client is connected, before the greeting; see <see cref="SmtpServerOptions.OnConnect"/>.</summary>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected internal virtual ValueTask<SmtpResult> OnConnectAsync(SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeConnectAsync(session, cancellationToken);

    /// <summary>Called after every TLS handshake; see <see cref="SmtpServerOptions.OnSecure"/>.</summary>
    /// <param name="session">The session, now secure.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected internal virtual ValueTask<SmtpResult> OnSecureAsync(SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeSecureAsync(session, cancellationToken);

    /// <summary>Called for every authentication attempt; see <see cref="SmtpServerOptions.OnAuth"/>.</summary>
    /// <param name="auth">The attempt.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected internal virtual ValueTask<SmtpAuthResult> OnAuthAsync(SmtpAuthRequest auth, SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeAuthAsync(auth, session, cancellationToken);

    /// <summary>Called for <c>MAIL FROM</c> once the address and parameters are valid; see <see cref="SmtpServerOptions.OnMailFrom"/>.</summary>
    /// <param name="address">The sender and its parameters.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected internal virtual ValueTask<SmtpResult> OnMailFromAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeMailFromAsync(address, session, cancellationToken);

    /// <summary>Called for every valid <c>RCPT TO</c>; see <see cref="SmtpServerOptions.OnRcptTo"/>.</summary>
    /// <param name="address">The recipient and its parameters.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected internal virtual ValueTask<SmtpResult> OnRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeRcptToAsync(address, session, cancellationToken);

    /// <summary>Called when a message starts, with the message as a stream; see <see cref="SmtpServerOptions.OnData"/>.</summary>
    /// <param name="message">The message as it arrives.</param>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    protected internal virtual ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeDataAsync(message, session, cancellationToken);

    /// <summary>Called once after the connection closed; see <see cref="SmtpServerOptions.OnClose"/>.</summary>
    /// <param name="session">The session as it was at the end.</param>
    /// <param name="cancellationToken">Cancelled when the server is disposed.</param>
    protected internal virtual ValueTask OnCloseAsync(SmtpSession session, CancellationToken cancellationToken) =>
        Server.InvokeCloseAsync(session, cancellationToken);

    /// <summary>Binds the handler to the server that took it (an instance serves one server).</summary>
    internal void Attach(SmtpServer server)
    {
        SmtpServer? current = Interlocked.CompareExchange(ref _server, server, null);
        if (current is not null && current != server)
        {
            throw new InvalidOperationException("This session handler already serves another server; create one per connection.");
        }
    }
}
