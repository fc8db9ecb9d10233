using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Smtpd.LoadGen;

/// <summary>
/// One raw SMTP client connection: a socket (or a TLS stream over it after STARTTLS), a receive buffer owned by its
/// slot (reused by the slot's successive connections) and a reply parser. Sending and receiving allocate nothing per operation. Each wait carries a deadline that the
/// <see cref="Watchdog"/> enforces by aborting the socket, so no operation can hang.
/// </summary>
internal sealed class SmtpClientConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _receive;
    private readonly long _timeoutMs;
    private SslStream? _tls;
    private int _start;
    private int _end;
    private long _deadline;
    private int _disposed;

    /// <summary>The size of a receive buffer: any reply line, an EHLO reply included, fits.</summary>
    public const int ReceiveBufferSize = 4096;

    public SmtpClientConnection(AddressFamily family, TimeSpan timeout, byte[] receiveBuffer)
    {
        _receive = receiveBuffer;
        _socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _timeoutMs = (long)timeout.TotalMilliseconds;
    }

    /// <summary><see langword="true"/> when the watchdog aborted the connection because a wait exceeded its limit.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>Connects, bounded by the timeout.</summary>
    public async ValueTask ConnectAsync(EndPoint endPoint)
    {
        Arm();
        await _socket.ConnectAsync(endPoint);
        Disarm();
    }

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        Arm();
        if (_tls is not null)
        {
            await _tls.WriteAsync(data);
        }
        else
        {
            while (!data.IsEmpty)
            {
                int sent = await _socket.SendAsync(data, SocketFlags.None);
                data = data[sent..];
            }
        }

        Disarm();
    }

    /// <summary>
    /// Reads one complete reply (all lines of a multi-line reply) and returns its code, or -1 for a line that is not
    /// a reply. Throws <see cref="IOException"/> when the server closes the connection.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReadReplyAsync()
    {
        while (true)
        {
            int code = TryParseReply();
            if (code != 0)
            {
                return code;
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_receive, _start, _receive, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _receive.Length)
            {
                throw new IOException("reply line longer than the receive buffer");
            }

            Arm();
            int n = _tls is not null
                ? await _tls.ReadAsync(_receive.AsMemory(_end))
                : await _socket.ReceiveAsync(_receive.AsMemory(_end), SocketFlags.None);
            Disarm();
            if (n == 0)
            {
                throw new IOException("connection closed by the server");
            }

            _end += n;
        }
    }

    /// <summary>Upgrades to TLS after the server's 220 to STARTTLS; any certificate is accepted.</summary>
    public async ValueTask UpgradeToTlsAsync()
    {
        if (_start != _end)
        {
            throw new IOException("the server sent data after its STARTTLS reply");
        }

        _start = _end = 0;
        var tls = new SslStream(new NetworkStream(_socket, ownsSocket: false), leaveInnerStreamOpen: false);
        _tls = tls;
        Arm();
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
#pragma warning disable CA5359 // A benchmark client talks to a sink with a generated certificate on loopback.
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
#pragma warning restore CA5359
        });
        Disarm();
    }

    /// <summary>For an idle connection: <see langword="true"/> when the server closed it or sent something unasked.</summary>
    public bool PeerClosedOrSentData()
    {
        try
        {
            return _start != _end || _socket.Poll(0, SelectMode.SelectRead);
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>Called by the watchdog: aborts the connection when a wait has exceeded its limit.</summary>
    public void CheckDeadline(long now)
    {
        long deadline = Volatile.Read(ref _deadline);
        if (deadline != 0 && now > deadline)
        {
            TimedOut = true;
            Dispose();
        }
    }

    /// <summary>Closes the connection at once (safe to call from any thread, more than once).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _tls?.Dispose();
        _socket.Dispose();
    }

    private void Arm() => Volatile.Write(ref _deadline, Environment.TickCount64 + _timeoutMs);

    private void Disarm() => Volatile.Write(ref _deadline, 0);

    /// <summary>Consumes one complete reply from the buffer: its code, or 0 when more bytes are needed.</summary>
    private int TryParseReply()
    {
        int position = _start;
        while (true)
        {
            int lf = _receive.AsSpan(position, _end - position).IndexOf((byte)'\n');
            if (lf < 0)
            {
                return 0;
            }

            ReadOnlySpan<byte> line = _receive.AsSpan(position, lf);
            position += lf + 1;
            if (line.Length >= 4 && line[3] == (byte)'-')
            {
                // A continuation line of a multi-line reply: the reply is complete only with its last line.
                continue;
            }

            _start = position;
            return line.Length >= 3 && IsDigit(line[0]) && IsDigit(line[1]) && IsDigit(line[2])
                ? ((line[0] - '0') * 100) + ((line[1] - '0') * 10) + (line[2] - '0')
                : -1;
        }
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;
}
