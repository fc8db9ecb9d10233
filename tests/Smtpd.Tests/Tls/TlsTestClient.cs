using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Smtpd.Tests.Tls;

/// <summary>
/// A byte-exact SMTP client that can switch to TLS (STARTTLS, or implicit TLS from the first byte) with a chosen
/// server name and client certificate. It accepts any server certificate and remembers the one it got.
/// </summary>
public sealed class TlsTestClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[16384];
    private readonly MemoryStream _pending = new();
    private Stream _stream;

    private TlsTestClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public Socket Socket => _socket;

    public SslStream? Tls => _stream as SslStream;

    /// <summary>The certificate the server presented in the last handshake.</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

    /// <summary>Bytes received but not consumed yet (must be empty when a handshake starts).</summary>
    public int PendingBytes => (int)_pending.Length;

    public static async Task<TlsTestClient> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return new TlsTestClient(socket);
    }

    /// <summary>Connects, does the TLS handshake at once (implicit TLS) and reads the greeting.</summary>
    public static async Task<TlsTestClient> ConnectImplicitAsync(IPEndPoint endPoint, string? serverName = "mx.test", X509Certificate2? clientCertificate = null, bool readGreeting = true)
    {
        TlsTestClient client = await ConnectAsync(endPoint);
        await client.HandshakeAsync(serverName, clientCertificate);
        if (readGreeting)
        {
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        }

        return client;
    }

    /// <summary>Wraps the connection in TLS (after <c>220 Ready to start TLS</c>, or for implicit TLS).</summary>
    public async Task HandshakeAsync(string? serverName = "mx.test", X509Certificate2? clientCertificate = null, SslProtocols protocols = SslProtocols.None)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: true);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = serverName ?? "",
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                ServerCertificate = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return true;
            },
        };
        if (clientCertificate is not null)
        {
            options.ClientCertificates = [clientCertificate];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }

        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await ssl.AuthenticateAsClientAsync(options, timeout.Token);
        _stream = ssl;
    }

    public Task SendAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendBytesAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public Task SendLineAsync(string line) => SendAsync(line + "\r\n");

    public async Task<Reply> CommandAsync(string line)
    {
        await SendLineAsync(line);
        return await ReadReplyAsync();
    }

    public async Task<Reply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (true)
        {
            string? line = await ReadLineAsync(timeout ?? DefaultTimeout)
                ?? throw new IOException("Connection closed while waiting for a reply" + (lines.Count > 0 ? $" after: {string.Join(" | ", lines)}" : ""));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return new Reply(int.Parse(line.AsSpan(0, 3)), lines);
            }
        }
    }

    /// <summary>A line without CRLF, or <see langword="null"/> at the end of the stream (or a reset).</summary>
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
                n = await _stream.ReadAsync(_buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No line within {timeout.TotalSeconds} s; received so far: '{Encoding.UTF8.GetString(data)}'");
            }
            catch (IOException)
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

    /// <summary>True when the server ends the connection within <paramref name="timeout"/> without sending another line.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? timeout = null)
    {
        try
        {
            return await ReadLineAsync(timeout ?? DefaultTimeout) is null;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync();
        }
        catch (IOException)
        {
        }

        _socket.Dispose();
    }
}
