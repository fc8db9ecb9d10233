using System.Net;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// One listening socket and its accept loop. Each accepted socket becomes a connection of the listener's endpoint,
/// registered at once (so a close waits for it) and queued to the thread pool.
/// </summary>
internal sealed class Listener
{
    private readonly Socket _socket;
    private readonly EndpointContext _endpoint;

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
        listener.AcceptLoop = Task.Run(listener.AcceptLoopAsync, CancellationToken.None);
        return listener;
    }

    /// <summary>Closes the socket: the accept loop ends.</summary>
    public void Stop() => _socket.Dispose();

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
                // Transient accept errors (a client reset while queued, descriptor exhaustion) must not stop the listener.
                SmtpLog.AcceptFailed(server.Logger, ex);
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

            var connection = new SmtpConnection(_endpoint, socket, null, socket.RemoteEndPoint as IPEndPoint, SharedLocalEndPoint ?? socket.LocalEndPoint as IPEndPoint);
            server.Connections.Register(connection);
            ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
        }
    }
}
