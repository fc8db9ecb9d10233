using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Tls;

public class ImplicitTlsTests
{
    private static void SecureServer(SmtpServerOptions o)
    {
        o.DisabledCommands = ["AUTH"];
        o.Secure = true;
        o.Certificate = TestPki.Shared.Server;
    }

    [Fact]
    public async Task MailKit_delivers_over_implicit_tls_and_the_session_is_secure_from_the_start()
    {
        bool secureAtConnect = false;
        SmtpSession? atData = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.OnConnect = (session, _) =>
            {
                secureAtConnect = session.Secure;
                return default;
            };
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                atData = session;
                return SmtpResult.Accept();
            };
        });
        using var client = new SmtpClient();
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => certificate!.Subject == "CN=mx.test";
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.SslOnConnect);
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("a@b.example"));
        message.To.Add(MailboxAddress.Parse("r@b.example"));
        message.Body = new TextPart("plain") { Text = "hello" };
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
        Assert.True(secureAtConnect);
        Assert.NotNull(atData);
        Assert.Equal("ESMTPS", atData.TransmissionType);
        Assert.Equal(SslProtocols.Tls13, atData.TlsProtocol);
    }

    [Fact]
    public async Task Implicit_tls_session_refuses_StartTls_and_advertises_RequireTls_when_enabled()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.HideRequireTls = false;
        });
        await using var client = await TlsTestClient.ConnectImplicitAsync(server.EndPoint);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Equal("250 REQUIRETLS", ehlo.Line);
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("250 Accepted", (await client.CommandAsync("MAIL FROM:<a@b.c> REQUIRETLS")).Line);
        Assert.Equal("503 Error: TLS already active", (await client.CommandAsync("STARTTLS")).Line);
    }

    [Fact]
    public async Task Python_smtplib_SMTP_SSL_verifies_the_certificate_and_sends_its_server_name()
    {
        string? serverName = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.SniOptions["alt.example"] = TestPki.Shared.Alt;
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                serverName = session.ServerName;
                return SmtpResult.Accept("queued for " + session.ServerName);
            };
        });
        DirectoryInfo folder = Directory.CreateTempSubdirectory("smtpd-tls-");
        try
        {
            TestPki.WriteFiles(folder.FullName, ("ca", TestPki.Shared.Ca));
            const string script = """
                import smtplib, socket, ssl, sys
                port, cafile = int(sys.argv[1]), sys.argv[2]
                class Client(smtplib.SMTP_SSL):
                    def _get_socket(self, host, port, timeout):
                        sock = socket.create_connection(("127.0.0.1", port), timeout)
                        return self.context.wrap_socket(sock, server_hostname=host)
                context = ssl.create_default_context(cafile=cafile)
                with Client("alt.example", port, context=context, timeout=10) as smtp:
                    print("subject", dict(x[0] for x in smtp.sock.getpeercert()["subject"])["commonName"])
                    print("data", smtp.sendmail("a@b.example", ["r@b.example"], "Subject: x\r\n\r\nhi\r\n") == {})
                    code, text = smtp.noop()
                    print("noop", code)
                """;
            ProcessResult result = await ExternalProcess.RunAsync("python3", ["-c", script, server.Port.ToString(), Path.Combine(folder.FullName, "ca.crt")], timeout: TimeSpan.FromSeconds(20));
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains("subject alt.example", result.StandardOutput);
            Assert.Contains("data True", result.StandardOutput);
            Assert.Contains("noop 250", result.StandardOutput);
            Assert.Equal("alt.example", serverName);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_garbage_handshake_closes_the_connection_silently_and_is_logged()
    {
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.Logger = log;
        });
        await using (var client = await RawClient.ConnectAsync(server.EndPoint))
        {
            await client.SendAsync("EHLO plaintext.example\r\n");
            Assert.Equal("", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Contains("TLS handshake", await log.WaitForAsync(301));
        await using var next = await TlsTestClient.ConnectImplicitAsync(server.EndPoint);
        Assert.Equal(250, (await next.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stalled_or_trickled_handshake_is_dropped_after_the_socket_timeout_without_blocking_others(bool trickle)
    {
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.Logger = log;
            o.SocketTimeout = TimeSpan.FromMilliseconds(300);
        });
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await stalled.ConnectAsync(server.EndPoint);
        var elapsed = Stopwatch.StartNew();
        using var stopTrickle = new CancellationTokenSource();
        Task trickling = Task.Run(async () =>
        {
            // A TLS record header, then (when trickling) one byte every 100 ms that never completes a ClientHello.
            await stalled.SendAsync(new byte[] { 0x16, 0x03 });
            while (trickle && !stopTrickle.IsCancellationRequested)
            {
                await Task.Delay(100);
                try
                {
                    await stalled.SendAsync(new byte[] { 0x01 });
                }
                catch (SocketException)
                {
                    return;
                }
            }
        });

        await using (var other = await TlsTestClient.ConnectImplicitAsync(server.EndPoint))
        {
            Assert.Equal(250, (await other.CommandAsync("NOOP")).Code);
        }

        var buffer = new byte[16];
        using var receiveTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        int received;
        try
        {
            received = await stalled.ReceiveAsync(buffer, receiveTimeout.Token);
        }
        catch (SocketException)
        {
            received = 0;
        }

        await stopTrickle.CancelAsync();
        await trickling;
        Assert.Equal(0, received);
        Assert.InRange(elapsed.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(3));
        Assert.Contains("not completed within 300 ms", await log.WaitForAsync(302));
    }

    [Fact]
    public async Task OnSecure_refusal_on_implicit_tls_has_no_enhanced_code_and_closes()
    {
        bool connected = false;
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.HideEnhancedStatusCodes = false;
            o.OnConnect = (_, _) =>
            {
                connected = true;
                return default;
            };
            o.OnSecure = (session, _) => new(session.ServerName == "blocked.example" ? SmtpResult.Reject(554, "No cert") : SmtpResult.Accept());
        });
        await using (var client = await TlsTestClient.ConnectImplicitAsync(server.EndPoint, "blocked.example", readGreeting: false))
        {
            Assert.Equal("554 No cert", (await client.ReadReplyAsync()).Line);
            Assert.True(await client.IsClosedAsync());
        }

        Assert.True(connected);
        await using var allowed = await TlsTestClient.ConnectImplicitAsync(server.EndPoint, "ok.example");
        Assert.Equal(250, (await allowed.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Connections_waiting_for_their_handshake_count_against_MaxClients()
    {
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.Logger = log;
            o.MaxClients = 1;
            o.SocketTimeout = TimeSpan.FromSeconds(5);
        });
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await first.ConnectAsync(server.EndPoint);
        await first.SendAsync(new byte[] { 0x16 });
        await Task.Delay(100);

        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await second.ConnectAsync(server.EndPoint);
        var elapsed = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        Assert.Equal(0, await second.ReceiveAsync(new byte[16], timeout.Token));
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(1));
        Assert.Contains("already waiting for their TLS handshake", await log.WaitForAsync(306));

        first.Close();
        await Task.Delay(100);
        await using var third = await TlsTestClient.ConnectImplicitAsync(server.EndPoint);
        Assert.Equal(250, (await third.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Closing_the_server_drops_connections_in_the_middle_of_a_handshake_at_once()
    {
        var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.SocketTimeout = TimeSpan.FromSeconds(20);
        });
        await using (server)
        {
            using var pending = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await pending.ConnectAsync(server.EndPoint);
            await pending.SendAsync(new byte[] { 0x16, 0x03 });
            await Task.Delay(100);
            var elapsed = Stopwatch.StartNew();
            await server.Server.CloseAsync().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(3), $"close took {elapsed.Elapsed}");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            int received;
            try
            {
                received = await pending.ReceiveAsync(new byte[16], timeout.Token);
            }
            catch (SocketException)
            {
                received = 0;
            }

            Assert.Equal(0, received);
        }
    }

    [Fact]
    public async Task NeedsUpgrade_runs_the_connect_handler_in_plaintext_and_upgrades_before_the_greeting()
    {
        var events = new List<string>();
        await using var server = await TestServer.StartAsync(o =>
        {
            SecureServer(o);
            o.NeedsUpgrade = true;
            o.GreetingDelay = TimeSpan.FromMilliseconds(100);
            o.OnConnect = (session, _) =>
            {
                lock (events)
                {
                    events.Add($"connect secure={session.Secure}");
                }

                return default;
            };
            o.OnSecure = (session, _) =>
            {
                lock (events)
                {
                    events.Add($"secure secure={session.Secure} name={session.ServerName}");
                }

                return default;
            };
        });

        // The ClientHello arrives during the greeting pause, so the plaintext reader has it buffered already.
        await using var client = await TlsTestClient.ConnectImplicitAsync(server.EndPoint, "upgrade.example");
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("503 Error: TLS already active", (await client.CommandAsync("STARTTLS")).Line);
        Assert.Equal(["connect secure=False", "secure secure=True name=upgrade.example"], events);
    }

    [Fact]
    public async Task Secured_sessions_count_as_secure_without_a_handshake()
    {
        int secureCalls = 0;
        SmtpSession? atMail = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Secured = true;
            o.HideRequireTls = false;
            o.OnSecure = (_, _) =>
            {
                Interlocked.Increment(ref secureCalls);
                return default;
            };
            o.OnMailFrom = (_, session, _) =>
            {
                atMail = session;
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Equal("250 REQUIRETLS", ehlo.Line);
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("250 Accepted", (await client.CommandAsync("MAIL FROM:<a@b.c> REQUIRETLS")).Line);
        Assert.Equal("503 Error: TLS already active", (await client.CommandAsync("STARTTLS")).Line);
        Assert.Equal(1, secureCalls);
        Assert.NotNull(atMail);
        Assert.Equal("ESMTPS", atMail.TransmissionType);
        Assert.Equal(SslProtocols.None, atMail.TlsProtocol);
    }

    [Fact]
    public async Task HandleConnectionAsync_does_the_handshake_on_a_socket_the_application_accepted()
    {
        await using var server = await TestServer.StartAsync(SecureServer);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        Task<Socket> accept = listener.AcceptSocketAsync();
        Task<TlsTestClient> connect = TlsTestClient.ConnectImplicitAsync(endPoint);
        Task session = server.Server.HandleConnectionAsync(await accept);
        await using (TlsTestClient client = await connect)
        {
            Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
            Assert.True(await client.IsClosedAsync());
        }

        await session.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HandleStreamAsync_on_a_secure_server_does_the_handshake_on_a_plain_stream()
    {
        await using var server = await TestServer.StartAsync(SecureServer);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        Task<Socket> accept = listener.AcceptSocketAsync();
        Task<TlsTestClient> connect = TlsTestClient.ConnectImplicitAsync(endPoint, "stream.example");
        Task session = server.Server.HandleStreamAsync(new NetworkStream(await accept, ownsSocket: true));
        await using (TlsTestClient client = await connect)
        {
            Assert.Equal(TestPki.Shared.Server.Thumbprint, client.ServerCertificate!.Thumbprint);
            Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
        }

        await session.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HandleStreamAsync_takes_an_authenticated_SslStream_as_a_secure_session()
    {
        SmtpSession? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = (_, session, _) =>
            {
                seen = session;
                return default;
            };
        });
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        Task<Socket> accept = listener.AcceptSocketAsync();
        Task<TlsTestClient> connect = TlsTestClient.ConnectImplicitAsync(endPoint, "given.example", readGreeting: false);
        var ssl = new SslStream(new NetworkStream(await accept, ownsSocket: true));
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = TestPki.Shared.Server });
        Task session = server.Server.HandleStreamAsync(ssl);
        await using TlsTestClient client = await connect;
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
        await session.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(seen);
        Assert.True(seen.Secure);
        Assert.Equal("given.example", seen.ServerName);
        Assert.Equal(SslProtocols.Tls13, seen.TlsProtocol);
    }
}
