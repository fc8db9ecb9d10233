using System.Net;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// One listening socket and its accept loop. Each accepted socket becomes a connection of the listener's endpoint,
/// registered at once (so a close waits for it) and queued to the thread pool, unless the descriptor cap is reached;
/// with <see cref="SmtpServerOptions.UnsafePreferInlineScheduling"/> the listener waits on a readiness loop instead, and
/// each accepted connection starts right there, up to its first wait.
/// </summary>
internal sealed class Listener
{
    private readonly Socket _socket;
    private readonly EndpointContext _endpoint;
    private SocketReadiness? _readiness;

    // The accept loop has run out of descriptors and said so; cleared by the next accepted socket (one log line per episode).
    private bool _outOfDescriptors;

    private Listener(Socket socket, EndpointContext endpoint)
    {
        _socket = socket;
        _endpoint = endpoint;
        EndPoint = socket.LocalEndPoint!;

        // A listener bound to one address shares its endpoint with every connection (no endpoint object per accept).
        SharedLocalEndPoint = EndPoint is IPEndPoint ip && !ip.Address.Equals(IPAddress.Any) && !ip.Address.Equals(IPAddress.IPv6Any) ? ip : null;
    }

    /// <summary>The bound endpoint (with the actual port when port 0 was asked for).</summary>
    public EndPoint EndPoint { get; }

    /// <summary>Completes when the accept loop has stopped.</summary>
    public Task AcceptLoop { get; private set; } = Task.CompletedTask;

    private IPEndPoint? SharedLocalEndPoint { get; }

    /// <summary>Binds and listens on <paramref name="endPoint"/> (IPv6 any: dual mode), then starts accepting.</summary>
    public static Listener Start(EndPoint endPoint, EndpointContext endpoint)
    {
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

        var listener = new Listener(socket, endpoint);
        SmtpLog.Listening(endpoint.Server.Logger, listener.EndPoint);
        listener._readiness = endpoint.Server.Options.UnsafePreferInlineScheduling && NonBlockingIo.TryMakeDescriptorNonBlocking(socket.SafeHandle)
            ? SocketReadiness.TryRegister(socket)
            : null;
        listener.AcceptLoop = listener._readiness is { } readiness
            ? listener.AcceptInlineAsync(readiness)
            : Task.Run(listener.AcceptLoopAsync, CancellationToken.None);
        return listener;
    }

    /// <summary>Closes the socket: the accept loop ends.</summary>
    public void Stop()
    {
        _readiness?.Close();
        _socket.Dispose();
    }

    /// <summary>
    /// The descriptor cap: a socket beyond it gets the <c>421</c> of a full server at once, from the accept loop, and is
    /// closed (its descriptor is free the moment it is closed; the kernel still delivers the reply), so no session, buffer
    /// or handler ever exists for it. The start and end of each episode of refusals are logged once.
    /// </summary>
    private bool Admit(Socket socket)
    {
        ServerContext server = _endpoint.Server;
        ConnectionRegistry connections = server.Connections;
        switch (connections.Admit())
        {
            case Admission.AdmittedAgain:
                SmtpLog.DescriptorCapRecovered(server.Logger, connections.Count, connections.DescriptorCap);
                return true;
            case Admission.RefusedFirst:
                SmtpLog.DescriptorCapReached(server.Logger, connections.Count, connections.DescriptorCap);
                break;
            case Admission.Refused:
                break;
            default:
                return true;
        }

        server.Metrics.ConnectionRefused("descriptor_limit", socket, SharedLocalEndPoint ?? socket.LocalEndPoint as IPEndPoint);
        Refuse(socket, _endpoint.Replies.TooManyClients);
        return false;
    }

    /// <summary>Answers a socket no connection is made for with <paramref name="reply"/> (not on implicit TLS) and closes it.</summary>
    private void Refuse(Socket socket, byte[] reply)
    {
        try
        {
            if (_endpoint.TlsMode != SmtpTlsMode.Implicit)
            {
                // A fresh socket's send buffer is empty: the short reply never blocks the loop.
                socket.Send(reply, SocketFlags.None);
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The client is gone already.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private async Task AcceptLoopAsync()
    {
        ServerContext server = _endpoint.Server;
        while (!server.IsClosing)
        {
            Socket socket;
            try
            {
                socket = await _socket.AcceptAsync(server.StoppingToken);
            }
            catch (Exception) when (server.IsClosing || server.StoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException ex)
            {
                await AcceptFailedAsync(ex);
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            _outOfDescriptors = false;
            if (Admit(socket) && Accepted(socket) is { } connection)
            {
                ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
            }
        }
    }

    /// <summary>
    /// The accept loop on a readiness loop: takes every pending connection (the registration is edge-triggered), starts
    /// each on this thread up to its first wait, then waits for the next readiness event.
    /// </summary>
    private async Task AcceptInlineAsync(SocketReadiness readiness)
    {
        ServerContext server = _endpoint.Server;
        while (!server.IsClosing)
        {
            int sequence = readiness.ReadSequence;
            Socket? socket;
            try
            {
                // A poll first: an accept with nothing pending would fail with an exception.
                socket = _socket.Poll(0, SelectMode.SelectRead) ? _socket.Accept() : null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
            {
                // The pending connection went away (reset) between the poll and the accept.
                continue;
            }
            catch (SocketException ex) when (!server.IsClosing)
            {
                await AcceptFailedAsync(ex);
                continue;
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
            {
                break;
            }

            if (socket is not null)
            {
                _outOfDescriptors = false;
                if (Admit(socket) && Accepted(socket) is { } connection)
                {
                    _ = connection.RunAsync(CancellationToken.None);
                }

                continue;
            }

            try
            {
                _ = await readiness.WaitReadableAsync(sequence, CancellationToken.None);
            }
            catch (SocketException)
            {
                // Stopped: the registration was closed.
                break;
            }
        }
    }

    /// <summary>
    /// A failed accept never stops the listener (a client reset while queued, descriptor exhaustion). Out of descriptors,
    /// the first failure of the episode is logged and the loop pauses: the connection stays queued (no new readiness event
    /// would announce it), and the accept is retried.
    /// </summary>
    private async Task AcceptFailedAsync(SocketException ex)
    {
        if (ex.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
        {
            if (!_outOfDescriptors)
            {
                _outOfDescriptors = true;
                SmtpLog.AcceptOutOfDescriptors(_endpoint.Server.Logger, ex);
            }

            await Task.Delay(50);
        }
        else
        {
            SmtpLog.AcceptFailed(_endpoint.Server.Logger, ex);
        }
    }

    /// <summary>
    /// The connection of an accepted socket, registered with the server (so a close waits for it); <see langword="null"/>
    /// when a close started meanwhile (the socket gets <c>421</c> and is closed).
    /// </summary>
    private SmtpConnection? Accepted(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            socket.NoDelay = true;
        }

        var connection = new SmtpConnection(_endpoint, socket, null, socket.RemoteEndPoint as IPEndPoint, SharedLocalEndPoint ?? socket.LocalEndPoint as IPEndPoint);
        if (_endpoint.Server.Connections.TryRegisterAccepted(connection))
        {
            return connection;
        }

        Refuse(socket, _endpoint.Replies.ShuttingDown);
        connection.Abort();
        return null;
    }
}
