using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Smtpd.Tests.Tls;

/// <summary>
/// A byte-exact SMTP client that can switch to TLS (STARTTLS, or implicit TLS from the first byte) with a chosen
/// server name and client certificate. It accepts any server certificate and remembers the one it got.
/// </summary>
public sealed class TlsTestClient : LineClient
{
    private readonly Socket _socket;
    private Stream _stream;

    private TlsTestClient(Socket socket)
        : base(16384)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public Socket Socket => _socket;

    public SslStream? Tls => _stream as SslStream;

    /// <summary>The certificate the server presented in the last handshake.</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

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

    public override async Task SendBytesAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    protected override async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public override async ValueTask DisposeAsync()
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
