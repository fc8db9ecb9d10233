using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Tests;

/// <summary>One SMTP reply: its code and its lines (each without CRLF, code included).</summary>
public sealed record Reply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The last line, e.g. <c>250 2.0.0 OK</c>.</summary>
    public string Line => Lines[^1];

    public override string ToString() => string.Join("\n", Lines);
}

/// <summary>A byte-exact SMTP client over a raw socket, for protocol edge cases.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[65536];
    private readonly MemoryStream _pending = new();

    private RawClient(Socket socket)
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

    public Task SendAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends <paramref name="line"/> followed by CRLF.</summary>
    public Task SendLineAsync(string line) => SendAsync(line + "\r\n");

    public async Task SendBytesAsync(byte[] bytes)
    {
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
    }

    /// <summary>Sends a line and reads one reply.</summary>
    public async Task<Reply> CommandAsync(string line)
    {
        await SendLineAsync(line);
        return await ReadReplyAsync();
    }

    /// <summary>Reads one complete reply (all continuation lines).</summary>
    public async Task<Reply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (true)
        {
            string? line = await ReadLineAsync(timeout ?? DefaultTimeout);
            if (line is null)
            {
                throw new IOException("Connection closed while waiting for a reply" + (lines.Count > 0 ? $" after: {string.Join(" | ", lines)}" : ""));
            }

            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return new Reply(int.Parse(line.AsSpan(0, 3)), lines);
            }
        }
    }

    /// <summary>Reads a line (without CRLF), or <see langword="null"/> at end of stream.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            byte[] data = _pending.ToArray();
            int lf = Array.IndexOf(data, (byte)'\n');
            if (lf >= 0)
            {
                _pending.SetLength(0);
                _pending.Write(data, lf + 1, data.Length - lf - 1);
                int end = lf > 0 && data[lf - 1] == '\r' ? lf - 1 : lf;
                return Encoding.UTF8.GetString(data, 0, end);
            }

            int n;
            try
            {
                n = await _socket.ReceiveAsync(_buffer, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No line within {timeout.TotalSeconds} s; received so far: '{Encoding.UTF8.GetString(data)}'");
            }
            catch (SocketException)
            {
                n = 0;
            }

            if (n == 0)
            {
                if (data.Length > 0)
                {
                    _pending.SetLength(0);
                    return Encoding.UTF8.GetString(data);
                }

                return null;
            }

            _pending.Write(_buffer, 0, n);
        }
    }

    /// <summary>True when the server closes the connection (EOF or reset) within <paramref name="timeout"/> without sending more.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? timeout = null)
    {
        try
        {
            string? line = await ReadLineAsync(timeout ?? DefaultTimeout);
            return line is null;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Everything the server sends until it closes the connection.</summary>
    public async Task<string> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var text = new StringBuilder();
        while (true)
        {
            string? line = await ReadLineAsync(timeout ?? DefaultTimeout);
            if (line is null)
            {
                return text.ToString();
            }

            text.Append(line).Append('\n');
        }
    }

    public async ValueTask DisposeAsync()
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
        await Task.CompletedTask;
    }
}
