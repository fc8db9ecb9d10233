using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Smtpd.Soak;

/// <summary>
/// One client connection of the soak: a socket (a TLS stream over it after STARTTLS), a reply reader, and one
/// deadline for every wait: a wait the server leaves unanswered past <see cref="SoakOptions.Timeout"/> throws
/// <see cref="SoakHangException"/>, which the run counts as a hung connection.
/// </summary>
internal sealed class SoakConnection : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _buffer = new byte[8192];
    private readonly CancellationTokenSource _deadline = new();
    private readonly TimeSpan _timeout;
    private Stream _stream = Stream.Null;
    private int _start;
    private int _end;

    private SoakConnection(TimeSpan timeout)
    {
        _timeout = timeout;
    }

    public static async Task<SoakConnection> ConnectAsync(EndPoint endPoint, TimeSpan timeout)
    {
        var connection = new SoakConnection(timeout);
        await connection.Bounded(async token =>
        {
            await connection._socket.ConnectAsync(endPoint, token);
            return 0;
        }, "connect");
        connection._stream = new NetworkStream(connection._socket, ownsSocket: false);
        return connection;
    }

    /// <summary>Sends <paramref name="data"/> whole.</summary>
    public Task SendAsync(ReadOnlyMemory<byte> data) => Bounded(async token =>
    {
        await _stream.WriteAsync(data, token);
        return 0;
    }, "send");

    /// <summary>Reads one whole reply and returns its code, or 0 when the server closed the connection first.</summary>
    public Task<int> ReadReplyAsync(TimeSpan? timeout = null) => Bounded(async token =>
    {
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                int lineStart = _start;
                _start = lf + 1;
                if (lf - lineStart >= 3 && (lf - lineStart == 3 || _buffer[lineStart + 3] != '-'))
                {
                    return (_buffer[lineStart] - '0') * 100 + (_buffer[lineStart + 1] - '0') * 10 + (_buffer[lineStart + 2] - '0');
                }

                continue;
            }

            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer.AsMemory(_end), token);
            }
            catch (IOException)
            {
                return 0;
            }

            if (read == 0)
            {
                return 0;
            }

            _end += read;
        }
    }, "reply", timeout);

    /// <summary>Waits until the server closes the connection (any reply lines are skipped); past <paramref name="timeout"/> it is a hang.</summary>
    public async Task WaitForCloseAsync(TimeSpan timeout)
    {
        while (await ReadReplyAsync(timeout) != 0)
        {
        }
    }

    /// <summary>STARTTLS has been answered 220: the TLS handshake (the soak server's self-signed certificate, recognised by its subject).</summary>
    public Task StartTlsAsync() => Bounded(async token =>
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate?.Subject == "CN=soak.test");
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "soak.test" }, token);
        _stream = tls;
        return 0;
    }, "tls");

    /// <summary>Ends the connection with a reset instead of a FIN (a vanishing peer).</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
        _deadline.Dispose();
    }

    private async Task<T> Bounded<T>(Func<CancellationToken, Task<T>> operation, string what, TimeSpan? timeout = null)
    {
        TimeSpan limit = timeout ?? _timeout;
        _deadline.CancelAfter(limit);
        try
        {
            return await operation(_deadline.Token);
        }
        catch (OperationCanceledException) when (_deadline.IsCancellationRequested)
        {
            throw new SoakHangException($"no progress on {what} within {limit.TotalSeconds} s");
        }
        finally
        {
            _deadline.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }
}

/// <summary>The server left a wait unanswered past the deadline.</summary>
internal sealed class SoakHangException(string message) : Exception(message);
