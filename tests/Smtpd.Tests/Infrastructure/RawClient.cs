using System.Net;
using System.Net.Sockets;

namespace Smtpd.Tests;

/// <summary>One SMTP reply: its code and its lines (each without CRLF, code included).</summary>
public sealed record Reply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The last line, e.g. <c>250 2.0.0 OK</c>.</summary>
    public string Line => Lines[^1];

    public override string ToString() => string.Join("\n", Lines);
}

/// <summary>A byte-exact SMTP client over a raw socket, for protocol edge cases.</summary>
public sealed class RawClient : LineClient
{
    private readonly Socket _socket;

    private RawClient(Socket socket)
        : base(65536)
    {
        _socket = socket;
    }

    public Socket Socket => _socket;

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return new RawClient(socket);
    }

    /// <summary>Connects from a chosen local address (any of 127.0.0.0/8 works on loopback), so tests can be a different peer.</summary>
    public static async Task<RawClient> ConnectFromAsync(IPAddress localAddress, IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Bind(new IPEndPoint(localAddress, 0));
        await socket.ConnectAsync(endPoint);
        return new RawClient(socket);
    }

    public override async Task SendBytesAsync(byte[] bytes)
    {
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
    }

    protected override async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    public override ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        return default;
    }
}
