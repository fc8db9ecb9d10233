using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Proxy;

/// <summary>A real HAProxy between a real client (MailKit, connecting from 127.0.0.2) and Smtpd.</summary>
public class HaproxyTests
{
    private static readonly IPAddress ClientAddress = IPAddress.Parse("127.0.0.2");

    private static MimeMessage Message()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.com"));
        message.To.Add(MailboxAddress.Parse("rcpt@example.com"));
        message.Subject = "through haproxy";
        message.Body = new TextPart("plain") { Text = "hello" };
        return message;
    }

    /// <summary>Sends one message with MailKit from <see cref="ClientAddress"/>; returns the client's port.</summary>
    private static async Task<int> SendAsync(IPEndPoint haproxy, string host = "localhost", SecureSocketOptions security = SecureSocketOptions.None)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(ClientAddress, 0));
        await socket.ConnectAsync(haproxy);
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        using var client = new SmtpClient { Timeout = 10000, ServerCertificateValidationCallback = (_, _, _, _) => true };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await client.ConnectAsync(socket, host, haproxy.Port, security, cts.Token);
        await client.SendAsync(Message(), cts.Token);
        await client.DisconnectAsync(true, cts.Token);
        return port;
    }

    private static async Task<(TestServer Server, SessionRecorder Recorder)> StartServerAsync(Action<SmtpServerOptions>? configure = null)
    {
        var recorder = new SessionRecorder();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseProxy = new[] { HaproxyProcess.SourceAddress.ToString() };
            configure?.Invoke(o);
        });
        return (server, recorder);
    }

    [Fact]
    public async Task Message_through_send_proxy_v1_is_stored_with_the_client_address()
    {
        (TestServer server, SessionRecorder recorder) = await StartServerAsync();
        await using var _ = server;
        await using var haproxy = await HaproxyProcess.StartAsync(server.Port, "send-proxy");
        int clientPort = await SendAsync(haproxy.EndPoint);

        SessionSnapshot session = await recorder.FirstData.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ClientAddress, session.RemoteAddress);
        Assert.Equal(clientPort, session.RemotePort);
        Assert.Equal(IPAddress.Loopback, session.LocalAddress);
        Assert.Equal(server.Port, session.LocalPort);
        Assert.Equal(1, session.ProxyHeader!.Version);
        Assert.Equal(HaproxyProcess.SourceAddress, session.ProxyHeader.ProxyAddress);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, haproxy.Port), session.ProxyHeader.Destination);
    }

    [Fact]
    public async Task Message_through_send_proxy_v2_is_stored_with_the_client_address_and_checked_TLVs()
    {
        (TestServer server, SessionRecorder recorder) = await StartServerAsync();
        await using var _ = server;
        await using var haproxy = await HaproxyProcess.StartAsync(server.Port, "send-proxy-v2 proxy-v2-options crc32c,unique-id",
            frontendLines: "    unique-id-format smtp-%cp");
        int clientPort = await SendAsync(haproxy.EndPoint);

        SessionSnapshot session = await recorder.FirstData.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ClientAddress, session.RemoteAddress);
        Assert.Equal(clientPort, session.RemotePort);
        Assert.Equal(IPAddress.Loopback, session.LocalAddress);
        SmtpProxyHeader header = session.ProxyHeader!;
        Assert.Equal(2, header.Version);
        Assert.Equal(HaproxyProcess.SourceAddress, header.ProxyAddress);
        Assert.True(header.IsChecksumVerified);
        Assert.Equal($"smtp-{clientPort}", System.Text.Encoding.ASCII.GetString(header.UniqueId.Span));
    }

    [Fact]
    public async Task Tls_terminated_at_haproxy_is_described_by_the_SSL_and_authority_TLVs()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=mail.example.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        string pem = certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n";

        (TestServer server, SessionRecorder recorder) = await StartServerAsync();
        await using var _ = server;
        await using var haproxy = await HaproxyProcess.StartAsync(server.Port, "send-proxy-v2 proxy-v2-options ssl,ssl-cipher,authority,crc32c",
            bindOptions: "ssl crt {dir}/mail.pem", files: ("mail.pem", pem));
        await SendAsync(haproxy.EndPoint, host: "mail.example.test", security: SecureSocketOptions.SslOnConnect);

        SessionSnapshot session = await recorder.FirstData.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ClientAddress, session.RemoteAddress);
        SmtpProxyHeader header = session.ProxyHeader!;
        Assert.Equal("mail.example.test", header.Authority);
        Assert.True(header.IsChecksumVerified);
        SmtpProxySsl ssl = header.Ssl!;
        Assert.True(ssl.IsTls);
        Assert.False(ssl.HasClientCertificate);
        Assert.StartsWith("TLSv1.", ssl.Version, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(ssl.Cipher));
    }

    [Fact]
    public async Task Health_checks_from_an_ignored_balancer_are_served_silently()
    {
        var logger = new ListLogger();
        (TestServer server, SessionRecorder recorder) = await StartServerAsync(o =>
        {
            o.Logger = logger;
            o.IgnoredHosts = [HaproxyProcess.SourceAddress.ToString()];
        });
        await using var _ = server;
        await using var haproxy = await HaproxyProcess.StartAsync(server.Port, "send-proxy-v2 check inter 100 rise 1 fall 1",
            backendLines: "    option smtpchk HELO balancer.example");

        // An SMTP-level check (greeting, HELO, 250) succeeded: the server answered it.
        string status = "";
        for (int i = 0; i < 100 && status != "L7OK"; i++)
        {
            await Task.Delay(100);
            status = await haproxy.CheckStatusAsync();
        }

        Assert.Equal("L7OK", status);
        await SendAsync(haproxy.EndPoint);
        await recorder.FirstClose.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(recorder.Connects, c => Assert.Equal(ClientAddress, c.RemoteAddress));
        Assert.All(recorder.Closes, c => Assert.Equal(ClientAddress, c.RemoteAddress));
        Assert.Single(recorder.Datas);
        Assert.DoesNotContain(logger.Entries.Select(e => e.Message), l => l.Contains("balancer.example", StringComparison.Ordinal) || l.Contains(" from (not announced)", StringComparison.Ordinal)
            || l.Contains("[127.0.0.3]", StringComparison.Ordinal));
        Assert.Contains(logger.Entries.Select(e => e.Message), l => l.Contains("Connection from [127.0.0.2]", StringComparison.Ordinal));
    }
}
