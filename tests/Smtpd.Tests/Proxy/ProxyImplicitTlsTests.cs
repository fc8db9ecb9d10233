using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Proxy;

/// <summary>PROXY header first, in cleartext, then the implicit TLS handshake on the bytes right after it.</summary>
public class ProxyImplicitTlsTests
{
    private static async Task<(TestServer Server, SessionRecorder Recorder)> StartAsync(Action<SmtpServerOptions>? configure = null)
    {
        var recorder = new SessionRecorder();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.Secure = true;
            o.Certificate = TestPki.Shared.Server;
            o.UseProxy = true;
            configure?.Invoke(o);
        });
        return (server, recorder);
    }

    private static async Task<string> GreetingOverTlsAsync(Stream transport)
    {
        using var tls = new SslStream(transport, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "mx.test" });
        var buffer = new byte[512];
        int read = await tls.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task Version_1_header_in_cleartext_then_TLS()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint);
        await socket.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 198.51.100.22 203.0.113.7 35646 465\r\n"));
        await using var network = new NetworkStream(socket);
        Assert.Equal("220 mx.test ESMTP\r\n", await GreetingOverTlsAsync(network));
        SessionSnapshot session = Assert.Single(recorder.Connects);
        Assert.Equal(IPAddress.Parse("198.51.100.22"), session.RemoteAddress);
        Assert.Equal("SMTPS", session.TransmissionType);
    }

    [Fact]
    public async Task Version_2_header_and_the_ClientHello_in_one_segment_lose_no_byte()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server.EndPoint);
        byte[] header = ProxyV2Builder.Tcp6("2001:db8::77", 4000, "2001:db8::25", 465).Tlv(0x02, "mx.test").Build();
        await using var network = new NetworkStream(socket);
        await using var headerFirst = new HeaderFirstStream(network, header);
        Assert.Equal("220 mx.test ESMTP\r\n", await GreetingOverTlsAsync(headerFirst));
        Assert.True(headerFirst.SentTogether);
        SessionSnapshot session = Assert.Single(recorder.Connects);
        Assert.Equal(IPAddress.Parse("2001:db8::77"), session.RemoteAddress);
        Assert.Equal("mx.test", session.ProxyHeader!.Authority);
    }

    [Fact]
    public async Task Haproxy_passing_TLS_through_with_send_proxy_v2()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync(o => o.UseProxy = new[] { HaproxyProcess.SourceAddress.ToString() });
        await using var _ = server;
        await using var haproxy = await HaproxyProcess.StartAsync(server.Port, "send-proxy-v2");

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await socket.ConnectAsync(haproxy.EndPoint);
        int clientPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        using (var client = new SmtpClient { Timeout = 10000, ServerCertificateValidationCallback = (_, certificate, _, _) => certificate!.Subject == "CN=mx.test" })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await client.ConnectAsync(socket, "mx.test", haproxy.Port, SecureSocketOptions.SslOnConnect, cts.Token);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("a@b.example"));
            message.To.Add(MailboxAddress.Parse("r@b.example"));
            message.Body = new TextPart("plain") { Text = "hello" };
            await client.SendAsync(message, cts.Token);
            await client.DisconnectAsync(true, cts.Token);
        }

        SessionSnapshot session = await recorder.FirstData.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(IPAddress.Parse("127.0.0.2"), session.RemoteAddress);
        Assert.Equal(clientPort, session.RemotePort);
        Assert.Equal("ESMTPS", session.TransmissionType);
    }

    [Fact]
    public async Task Bad_header_before_TLS_gets_the_diagnostic_in_cleartext()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendBytesAsync([0x16, 0x03, 0x01, 0x00, 0x05]);
        Assert.Equal(ProxyTest.BadHeader + "\n", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(recorder.Connects);
    }

    /// <summary>Puts a PROXY header in front of the first write (the TLS ClientHello), so both leave in one send.</summary>
    private sealed class HeaderFirstStream(Stream inner, byte[] header) : Stream
    {
        private byte[]? _header = header;

        public bool SentTogether { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_header is { } first)
            {
                _header = null;
                SentTogether = true;
                await inner.WriteAsync((byte[])[.. first, .. buffer.Span], cancellationToken);
                return;
            }

            await inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
