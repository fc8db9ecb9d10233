using System.Net;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Samples;

/// <summary>The README's example and the recipes under samples/, run as programs and driven by MailKit.</summary>
public class SampleTests
{
    private static MimeMessage Message(string from, string to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "sample";
        message.Body = new TextPart("plain") { Text = "Hello from the sample tests." };
        return message;
    }

    private static async Task<SmtpClient> ConnectAsync(IPEndPoint endPoint, SecureSocketOptions tls, X509Certificate2? expected = null)
    {
        var client = new SmtpClient();
        // The sample must present exactly the certificate it was given (not a generated one).
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => expected is not null && certificate!.GetCertHashString() == expected.Thumbprint;
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, tls);
        return client;
    }

    [Fact]
    public async Task QuickStart_refuses_strangers_with_5_1_1_offers_no_AUTH_stores_and_stops_on_SIGTERM()
    {
        await using SampleProcess sample = await SampleProcess.StartAsync("QuickStart", ["0"]);
        using SmtpClient client = await ConnectAsync(sample.EndPoints[0], SecureSocketOptions.None);
        Assert.Empty(client.AuthenticationMechanisms);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.EnhancedStatusCodes));

        string reply = await client.SendAsync(Message("sender@example.org", "alice@example.com"));
        Assert.Equal("2.6.0 Queued", reply);
        SmtpCommandException refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("sender@example.org", "bob@elsewhere.org")));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
        Assert.Equal("5.1.1 No such user here", refused.Message);
        await client.DisconnectAsync(true);

        string stored = Assert.Single(Directory.GetFiles(sample.Folder, "*.eml"));
        Assert.Contains("Hello from the sample tests.", await File.ReadAllTextAsync(stored));
        Assert.Equal(0, await sample.StopAsync());
    }

    [Fact]
    public async Task InboundMx_uses_the_certificate_files_checks_recipients_and_stores()
    {
        string scratch = Directory.CreateTempSubdirectory("smtpd-mx-").FullName;
        (string cert, string key) = await SampleProcess.CreateCertificateAsync(scratch, "mx.example.test");
        await using SampleProcess sample = await SampleProcess.StartAsync("InboundMx", [
            "--contentRoot", SampleProcess.ProgramFolder("InboundMx"),
            "--Smtp:listen", "127.0.0.1:0", "--Smtp:name", "mx.example.test", "--Smtp:cert", cert, "--Smtp:key", key,
            "--Mailboxes:Folder", Path.Combine(scratch, "mail")]);
        Assert.DoesNotContain("self-signed", sample.Output);

        using var expected = X509Certificate2.CreateFromPem(File.ReadAllText(cert));
        using SmtpClient client = await ConnectAsync(sample.EndPoints[0], SecureSocketOptions.StartTls, expected);
        Assert.True(client.IsSecure);
        Assert.Empty(client.AuthenticationMechanisms);
        await client.SendAsync(Message("sender@example.org", "alice@example.com"));
        SmtpCommandException unknown = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("sender@example.org", "nobody@example.com")));
        Assert.Equal("5.1.1 No such user here", unknown.Message);
        SmtpCommandException relay = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("sender@example.org", "someone@elsewhere.org")));
        Assert.Equal("5.7.1 Relay access denied", relay.Message);
        await client.DisconnectAsync(true);

        Assert.Single(Directory.GetFiles(Path.Combine(scratch, "mail"), "*.eml"));
        Assert.Equal(0, await sample.StopAsync());
        Directory.Delete(scratch, recursive: true);
    }

    [Fact]
    public async Task Submission_requires_AUTH_on_587_after_STARTTLS_and_on_465_and_checks_the_sender()
    {
        string scratch = Directory.CreateTempSubdirectory("smtpd-submission-").FullName;
        (string cert, string key) = await SampleProcess.CreateCertificateAsync(scratch, "smtp.example.test");
        await using SampleProcess sample = await SampleProcess.StartAsync("Submission", [
            "--contentRoot", SampleProcess.ProgramFolder("Submission"),
            "--Submission:StartTls", "127.0.0.1:0", "--Submission:ImplicitTls", "127.0.0.1:0",
            "--Submission:Cert", cert, "--Submission:Key", key, "--Submission:Outbox", Path.Combine(scratch, "outbox"),
            "--Submission:Users:carol@example.com", "s3cret"], endPoints: 2);
        using var expected = X509Certificate2.CreateFromPem(File.ReadAllText(cert));

        // 587: STARTTLS, then AUTH is required and offered.
        using (SmtpClient client = await ConnectAsync(sample.EndPoints[0], SecureSocketOptions.StartTls, expected))
        {
            // MailKit turns the 530 to MAIL FROM into this exception.
            await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => client.SendAsync(Message("carol@example.com", "dan@example.net")));
            await client.AuthenticateAsync("carol@example.com", "s3cret");
            await client.SendAsync(Message("carol@example.com", "dan@example.net"));
            SmtpCommandException spoof = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("ceo@example.com", "dan@example.net")));
            Assert.Equal("5.7.1 carol@example.com may not send as <ceo@example.com>", spoof.Message);
            await client.DisconnectAsync(true);
        }

        // A wrong password is refused (MailKit tries every offered mechanism with it).
        using (SmtpClient client = await ConnectAsync(sample.EndPoints[0], SecureSocketOptions.StartTls, expected))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => client.AuthenticateAsync("carol@example.com", "wrong"));
            Assert.False(client.IsAuthenticated);
        }

        // 587 in cleartext offers no AUTH at all.
        using (SmtpClient plain = await ConnectAsync(sample.EndPoints[0], SecureSocketOptions.None))
        {
            Assert.Empty(plain.AuthenticationMechanisms);
            await plain.DisconnectAsync(true);
        }

        // 465: TLS from the first byte.
        using (SmtpClient client = await ConnectAsync(sample.EndPoints[1], SecureSocketOptions.SslOnConnect, expected))
        {
            await client.AuthenticateAsync("carol@example.com", "s3cret");
            await client.SendAsync(Message("carol@example.com", "erin@example.net"));
            await client.DisconnectAsync(true);
        }

        Assert.Equal(2, Directory.GetFiles(Path.Combine(scratch, "outbox"), "*.eml").Length);
        Assert.Equal(0, await sample.StopAsync());
        Directory.Delete(scratch, recursive: true);
    }
}
