using System.Collections.Concurrent;
using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace Smtpd.Tests.Connections;

/// <summary>
/// One server, three endpoints with their own rules (<see cref="SmtpListenOptions"/>): an MX on a "port 25" (plaintext
/// with STARTTLS, AUTH optional), an implicit-TLS "port 465" and a submission "port 587" (AUTH required), with real
/// clients. The ports are free ports on 127.0.0.1.
/// </summary>
public sealed class EndpointTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<(int Port, bool Secure, string? User, string Sender)> _messages = new();
    private SmtpServer _server = null!;

    private IPEndPoint Mx { get; set; } = null!;

    private IPEndPoint Smtps { get; set; } = null!;

    private IPEndPoint Submission { get; set; } = null!;

    public async Task InitializeAsync()
    {
        _server = new SmtpServer(TestServer.Defaults(o =>
        {
            o.AuthOptional = true;
            o.OnAuth = new SmtpPasswordAuthenticator([new("alice", "wonderland")]).AuthenticateAsync;
            o.OnData = async (message, session, ct) =>
            {
                await message.CopyToAsync(Stream.Null, ct);
                _messages.Enqueue((session.LocalPort, session.Secure, session.User as string, session.Envelope.MailFrom!.Address));
                return SmtpResult.Accept();
            };
        }));
        Mx = (IPEndPoint)await _server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Loopback, 0)));
        Smtps = (IPEndPoint)await _server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Loopback, 0)) { TlsMode = SmtpTlsMode.Implicit, AuthOptional = false });
        Submission = (IPEndPoint)await _server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Loopback, 0)) { AuthOptional = false });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_MX_endpoint_takes_mail_without_AUTH_over_plaintext_and_STARTTLS()
    {
        await SendAsync(Mx, SecureSocketOptions.None, "mx-plain@example.com", authenticate: false);
        await SendAsync(Mx, SecureSocketOptions.StartTls, "mx-tls@example.com", authenticate: false);
        Assert.Contains(_messages, m => m is { Sender: "mx-plain@example.com", Secure: false, User: null } && m.Port == Mx.Port);
        Assert.Contains(_messages, m => m is { Sender: "mx-tls@example.com", Secure: true, User: null } && m.Port == Mx.Port);
    }

    [Fact]
    public async Task The_implicit_TLS_endpoint_speaks_TLS_from_the_first_byte_and_requires_AUTH()
    {
        using (var client = MailKitSender.NewClient())
        {
            await client.ConnectAsync(Smtps.Address.ToString(), Smtps.Port, SecureSocketOptions.SslOnConnect);
            Assert.True(client.IsSecure);
            Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
            await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => client.SendAsync(MailKitSender.Message("anonymous@example.com")));
        }

        await SendAsync(Smtps, SecureSocketOptions.SslOnConnect, "smtps@example.com", authenticate: true);
        Assert.Contains(_messages, m => m is { Sender: "smtps@example.com", Secure: true, User: "alice" } && m.Port == Smtps.Port);

        // A plaintext client on the implicit-TLS port gets no SMTP greeting.
        await using var raw = await RawClient.ConnectAsync(Smtps);
        await raw.SendLineAsync("EHLO plain.example");
        Assert.True(await raw.IsClosedAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task The_submission_endpoint_requires_AUTH_and_refuses_it_in_cleartext()
    {
        await using (var raw = await RawClient.ConnectAsync(Submission))
        {
            Assert.Equal(220, (await raw.ReadReplyAsync()).Code);
            Assert.Contains((await raw.CommandAsync("EHLO client.example")).Lines, l => l[4..] == "STARTTLS");
            Assert.Equal("530 Error: authentication Required", (await raw.CommandAsync("MAIL FROM:<a@example.com>")).Line);
            Assert.Equal(538, (await raw.CommandAsync("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")).Code);
        }

        await SendAsync(Submission, SecureSocketOptions.StartTls, "submission@example.com", authenticate: true);
        Assert.Contains(_messages, m => m is { Sender: "submission@example.com", Secure: true, User: "alice" } && m.Port == Submission.Port);
    }

    [Fact]
    public async Task Swaks_sends_through_each_endpoint_by_its_rules()
    {
        ProcessResult mx = await Swaks(Mx, "swaks-mx@example.com");
        Assert.True(mx.ExitCode == 0, mx.Output);
        ProcessResult smtps = await Swaks(Smtps, "swaks-smtps@example.com", "--tls-on-connect", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland");
        Assert.True(smtps.ExitCode == 0, smtps.Output);
        ProcessResult submission = await Swaks(Submission, "swaks-submission@example.com", "--tls", "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "wonderland");
        Assert.True(submission.ExitCode == 0, submission.Output);
        ProcessResult anonymous = await Swaks(Submission, "swaks-anonymous@example.com", "--tls");
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("530 Error: authentication Required", anonymous.StandardOutput);

        Assert.Contains(_messages, m => m is { Sender: "swaks-mx@example.com", Secure: false } && m.Port == Mx.Port);
        Assert.Contains(_messages, m => m is { Sender: "swaks-smtps@example.com", Secure: true, User: "alice" } && m.Port == Smtps.Port);
        Assert.Contains(_messages, m => m is { Sender: "swaks-submission@example.com", Secure: true, User: "alice" } && m.Port == Submission.Port);
        Assert.DoesNotContain(_messages, m => m.Sender == "swaks-anonymous@example.com");
    }

    [Fact]
    public async Task Endpoint_settings_apply_to_their_endpoint_only()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        var lmtp = (IPEndPoint)await server.Server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Loopback, 0)) { Lmtp = true, Size = 1000, TlsMode = SmtpTlsMode.None });
        await using (var smtp = await server.ConnectAsync())
        {
            Reply ehlo = await smtp.CommandAsync("EHLO client.example");
            Assert.Contains(ehlo.Lines, l => l[4..] == "STARTTLS");
            Assert.DoesNotContain(ehlo.Lines, l => l.Contains("SIZE", StringComparison.Ordinal));
        }

        await using var client = await RawClient.ConnectAsync(lmtp);
        Assert.Equal("220 mx.test LMTP", (await client.ReadReplyAsync()).Line);
        Assert.Equal(500, (await client.CommandAsync("EHLO client.example")).Code);
        Reply lhlo = await client.CommandAsync("LHLO client.example");
        Assert.Contains("250 SIZE 1000", lhlo.Lines);
        Assert.DoesNotContain(lhlo.Lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Equal(500, (await client.CommandAsync("STARTTLS")).Code);
        Assert.Equal(552, (await client.CommandAsync("MAIL FROM:<a@example.com> SIZE=2000")).Code);
        Assert.Equal(2, server.Server.EndPoints.Count);
    }

    [Fact]
    public async Task An_endpoint_with_an_unusable_setting_is_refused()
    {
        await using var server = await TestServer.StartAsync();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => server.Server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Loopback, 0)) { Size = -1 }));
        await Assert.ThrowsAsync<ArgumentException>(() => server.Server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Loopback, 0)) { UseProxy = TrustedPeers.Of(["not an address"]) }));
        Assert.Single(server.Server.EndPoints);
    }

    private static Task SendAsync(IPEndPoint endPoint, SecureSocketOptions security, string sender, bool authenticate) =>
        MailKitSender.SendAsync(endPoint, security, sender, authenticate ? ("alice", "wonderland") : null);

    private static Task<ProcessResult> Swaks(IPEndPoint endPoint, string sender, params string[] more) =>
        ExternalProcess.RunAsync("swaks",
            ["--server", endPoint.Address.ToString(), "--port", endPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--helo", "client.example", "--from", sender, "--to", "rcpt@example.org", .. more],
            timeout: TimeSpan.FromSeconds(30));
}
