using System.Security.Authentication;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Tls;

public class StartTlsTests
{
    private static void NoAuth(SmtpServerOptions o)
    {
        o.DisabledCommands = ["AUTH"];
        o.Certificate = TestPki.Shared.Server;
    }

    [Fact]
    public async Task MailKit_delivers_over_StartTls_and_the_session_is_ESMTPS()
    {
        SmtpSession? seen = null;
        string? body = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.OnData = async (stream, session, ct) =>
            {
                using var reader = new StreamReader(stream);
                body = await reader.ReadToEndAsync(ct);
                seen = session;
                return SmtpResult.Accept();
            };
        });
        using var client = new SmtpClient();
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => certificate!.Subject == "CN=mx.test";
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("a@b.example"));
        message.To.Add(MailboxAddress.Parse("r@b.example"));
        message.Subject = "over tls";
        message.Body = new TextPart("plain") { Text = "hello" };
        await client.SendAsync(message);
        await client.DisconnectAsync(true);

        Assert.NotNull(seen);
        Assert.True(seen.Secure);
        Assert.Equal("ESMTPS", seen.TransmissionType);
        Assert.Equal(SslProtocols.Tls13, seen.TlsProtocol);
        Assert.NotNull(seen.TlsCipherSuite);
        Assert.Contains("Subject: over tls", body);
    }

    [Fact]
    public async Task Python_smtplib_starttls_verifies_the_sni_certificate_and_sends_mail()
    {
        string? serverName = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.SniOptions["alt.example"] = TestPki.Shared.Alt;
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                serverName = session.ServerName;
                return SmtpResult.Accept();
            };
        });
        DirectoryInfo folder = Directory.CreateTempSubdirectory("smtpd-tls-");
        try
        {
            TestPki.WriteFiles(folder.FullName, ("ca", TestPki.Shared.Ca));
            const string script = """
                import smtplib, ssl, sys
                port, cafile = int(sys.argv[1]), sys.argv[2]
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
                smtp.ehlo("client.example")
                print("offered", smtp.has_extn("starttls"))
                smtp._host = "alt.example"
                code, _ = smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                print("starttls", code, smtp.sock.version())
                print("subject", dict(x[0] for x in smtp.sock.getpeercert()["subject"])["commonName"])
                print("offered after", smtp.has_extn("starttls"))
                print("data", smtp.sendmail("a@b.example", ["r@b.example"], "Subject: x\r\n\r\nhi\r\n") == {})
                smtp.quit()
                """;
            ProcessResult result = await ExternalProcess.RunAsync("python3", ["-c", script, server.Port.ToString(), Path.Combine(folder.FullName, "ca.crt")], timeout: TimeSpan.FromSeconds(20));
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains("offered True", result.StandardOutput);
            Assert.Contains("starttls 220 TLSv1.3", result.StandardOutput);
            Assert.Contains("subject alt.example", result.StandardOutput);
            Assert.Contains("offered after False", result.StandardOutput);
            Assert.Contains("data True", result.StandardOutput);
            Assert.Equal("alt.example", serverName);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Lmtp_over_StartTls_is_LMTPS()
    {
        string? type = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.Lmtp = true;
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                type = session.TransmissionType;
                return SmtpResult.Accept();
            };
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync();
        Assert.Equal(250, (await client.CommandAsync("LHLO x")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("hi\r\n.")).Code);
        Assert.Equal("LMTPS", type);
    }

    [Fact]
    public async Task A_subclass_can_override_OnSecureAsync()
    {
        await using var server = await TestServer.StartAsync(new RefusingServer(TestServer.Defaults(NoAuth)));
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync("refused.example");
        Assert.Equal("554 refused.example is not welcome", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    private sealed class RefusingServer(SmtpServerOptions options) : SmtpServer(options)
    {
        protected override ValueTask<SmtpResult> OnSecureAsync(SmtpSession session, CancellationToken cancellationToken) =>
            new(SmtpResult.Reject(554, $"{session.ServerName} is not welcome"));
    }

    [Fact]
    public async Task StartTls_with_an_argument_gets_501_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync(NoAuth);
        await using var client = await server.ConnectAsync();
        Assert.Equal("501 Error: syntax: STARTTLS", (await client.CommandAsync("STARTTLS FOO")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
    }

    [Fact]
    public async Task Transcript_H_StartTls_resets_the_session_and_then_gets_503()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.HideEnhancedStatusCodes = false;
            o.HideRequireTls = false;
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Reply plainEhlo = await client.CommandAsync("EHLO x");
        Assert.Contains(plainEhlo.Lines, l => l[4..] == "STARTTLS");
        Assert.DoesNotContain(plainEhlo.Lines, l => l.EndsWith("REQUIRETLS", StringComparison.Ordinal));
        Assert.Equal("250 2.1.0 Accepted", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("501 5.5.4 Error: syntax: STARTTLS", (await client.CommandAsync("STARTTLS foo")).Line);
        Assert.Equal("220 2.0.0 Ready to start TLS", (await client.CommandAsync("STARTTLS")).Line);
        await client.HandshakeAsync();
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Reply ehlo = await client.CommandAsync("EHLO y");
        Assert.Equal("250 REQUIRETLS", ehlo.Line);
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("503 5.5.1 Error: need MAIL command", (await client.CommandAsync("RCPT TO:<r@b.c>")).Line);
        Assert.Equal("503 5.5.1 Error: TLS already active", (await client.CommandAsync("STARTTLS")).Line);
    }

    [Fact]
    public async Task StartTls_forgets_the_user_the_helo_name_and_the_envelope()
    {
        var observed = new List<string>();
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.OnConnect = (session, _) =>
            {
                session.User = "pre-tls-user";
                return default;
            };
            o.OnSecure = (session, _) =>
            {
                observed.Add($"user={session.User ?? "null"} helo={session.HostNameAppearsAs ?? "null"} opening={session.OpeningCommand ?? "null"} from={session.Envelope.MailFrom?.Address ?? "null"} type={session.TransmissionType}");
                return default;
            };
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO before.example");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync();
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(["user=null helo=null opening=null from=null type=SMTPS"], observed);
    }

    [Fact]
    public async Task Plaintext_pipelined_after_StartTls_is_never_executed()
    {
        int mailCommands = 0;
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.OnMailFrom = (_, _, _) =>
            {
                Interlocked.Increment(ref mailCommands);
                return default;
            };
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);

        // One packet: if the MAIL were executed (before or after the handshake) it would be answered "250 Accepted".
        await client.SendAsync("STARTTLS\r\nMAIL FROM:<x@y>\r\n");
        Assert.Equal("220 Ready to start TLS", (await client.ReadReplyAsync()).Line);
        Assert.Equal(0, client.PendingBytes);
        await client.HandshakeAsync();
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal("503 Error: send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<x@y>")).Line);
        Assert.Equal(0, mailCommands);
    }

    [Fact]
    public async Task HideSTARTTLS_hides_the_keyword_but_the_command_works()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.HideStartTls = true;
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("220 Ready to start TLS", (await client.CommandAsync("STARTTLS")).Line);
        await client.HandshakeAsync();
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Disabled_StartTls_is_unknown_and_not_advertised()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.DisabledCommands = ["AUTH", "STARTTLS"];
        });
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("STARTTLS")).Line);
    }

    [Fact]
    public async Task StartTls_reenabled_by_the_session_on_a_server_without_tls_gets_454()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH", "STARTTLS"];
            o.OnConnect = (session, _) =>
            {
                session.DisabledCommands = ["AUTH"];
                return default;
            };
        });
        Assert.Null(server.Server.Tls);
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("454 TLS not available due to temporary reason", (await client.CommandAsync("STARTTLS")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task A_garbage_handshake_after_StartTls_closes_the_connection_and_is_logged()
    {
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.Logger = log;
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.SendAsync("EHLO this is not a ClientHello\r\n");
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("TLS handshake", await log.WaitForAsync(301));

        // The server is unharmed.
        await using var next = await server.ConnectAsync();
        Assert.Equal(250, (await next.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task A_stalled_handshake_after_StartTls_is_closed_after_the_socket_timeout_without_blocking_others()
    {
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.Logger = log;
            // Long enough for the other client's handshake on a loaded machine (at 400 ms a slow handshake of the other
            // client hit the timeout too and was reset), short enough to see the stalled one closed by it.
            o.SocketTimeout = TimeSpan.FromMilliseconds(1500);
        });
        await using var stalled = await TlsTestClient.ConnectAsync(server.EndPoint);
        await stalled.ReadReplyAsync();
        Assert.Equal(220, (await stalled.CommandAsync("STARTTLS")).Code);
        await stalled.SendBytesAsync([0x16, 0x03]);
        var started = System.Diagnostics.Stopwatch.StartNew();

        // Meanwhile another client is served.
        await using var other = await TlsTestClient.ConnectAsync(server.EndPoint);
        await other.ReadReplyAsync();
        Assert.Equal(220, (await other.CommandAsync("STARTTLS")).Code);
        await other.HandshakeAsync();
        Assert.Equal(250, (await other.CommandAsync("NOOP")).Code);

        Assert.True(await stalled.IsClosedAsync(TimeSpan.FromSeconds(6)));
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(1000), TimeSpan.FromSeconds(6));
        Assert.Contains("not completed within 1500 ms", await log.WaitForAsync(302));
    }

    [Fact]
    public async Task OnSecure_refusal_after_StartTls_is_answered_with_an_enhanced_code_and_closes()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.HideEnhancedStatusCodes = false;
            o.OnSecure = (_, _) => new(SmtpResult.Reject(530, "No cert"));
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync();
        Assert.Equal("530 5.7.0 No cert", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task OnSecure_runs_once_per_StartTls_with_the_tls_details()
    {
        var calls = new List<string>();
        await using var server = await TestServer.StartAsync(o =>
        {
            NoAuth(o);
            o.OnSecure = (session, _) =>
            {
                lock (calls)
                {
                    calls.Add($"{session.Secure} {session.ServerName} {session.TlsProtocol}");
                }

                return default;
            };
        });
        await using (var plain = await server.ConnectAsync())
        {
            Assert.Equal(221, (await plain.CommandAsync("QUIT")).Code);
        }

        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync("teretere2");
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(["True teretere2 Tls13"], calls);
    }
}
