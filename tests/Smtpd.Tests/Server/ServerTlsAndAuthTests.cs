using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Server;

/// <summary>The built program's certificate files (<c>key</c>, <c>cert</c>, <c>sniOptions</c>) and <c>users</c>.</summary>
public class ServerTlsAndAuthTests
{
    [Fact]
    public async Task Key_and_cert_files_serve_starttls_and_sni_options_pick_per_name()
    {
        string folder = ServerProcess.NewFolder();
        string main = WriteCertificate(folder, "mx.test");
        string alt = WriteCertificate(folder, "alt.test");
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["key"] = Path.Combine(folder, "mx.test.key"),
            ["cert"] = Path.Combine(folder, "mx.test.pem"),
            ["sniOptions"] = new Dictionary<string, object> { ["alt.test"] = new { key = Path.Combine(folder, "alt.test.key"), cert = Path.Combine(folder, "alt.test.pem") } },
        }, folder: folder);

        Assert.Equal(main, await PresentedCertificateAsync(server, "mx.test"));
        Assert.Equal(alt, await PresentedCertificateAsync(server, "alt.test"));
    }

    [Fact]
    public async Task Users_require_auth_and_the_user_is_stored_with_the_message()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["users"] = new Dictionary<string, string> { ["alice"] = "wonderland" },
            ["authMethods"] = new[] { "PLAIN", "LOGIN", "CRAM-MD5" },
            ["disableReverseLookup"] = true,
        });

        // Without credentials: 530.
        using (var anonymous = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await anonymous.ConnectAsync(server.EndPoint.Address.ToString(), server.EndPoint.Port, SecureSocketOptions.StartTls);
            MailKit.ServiceNotAuthenticatedException refused = await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => anonymous.SendAsync(Message()));
            Assert.Equal("Error: authentication Required", refused.Message);
        }

        // A wrong password: 535.
        using (var wrong = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await wrong.ConnectAsync(server.EndPoint.Address.ToString(), server.EndPoint.Port, SecureSocketOptions.StartTls);
            await Assert.ThrowsAsync<AuthenticationException>(() => wrong.AuthenticateAsync("alice", "looking-glass"));
        }

        Assert.Empty(server.StoreEntries());
        using (var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await client.ConnectAsync(server.EndPoint.Address.ToString(), server.EndPoint.Port, SecureSocketOptions.StartTls);
            client.AuthenticationMechanisms.Remove("PLAIN");
            client.AuthenticationMechanisms.Remove("LOGIN");
            await client.AuthenticateAsync("alice", "wonderland");
            await client.SendAsync(Message());
            await client.DisconnectAsync(true);
        }

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal("alice", stored.Envelope.GetProperty("user").GetString());
        Assert.True(stored.Envelope.GetProperty("secure").GetBoolean());
        Assert.Equal("ESMTPSA", stored.Envelope.GetProperty("transmissionType").GetString());
        Assert.Contains(" with ESMTPSA id ", stored.Trace);
    }

    [Fact]
    public async Task A_refused_token_gets_the_OAuth_error_JSON_with_a_status()
    {
        // Issue 11, bug 9: the program answered a failed XOAUTH2 attempt with the challenge {}; clients expect
        // Google's error JSON with a status (and RFC 7628's invalid_token for OAUTHBEARER).
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["users"] = new Dictionary<string, string> { ["alice"] = "wonderland" },
            ["authMethods"] = new[] { "XOAUTH2", "OAUTHBEARER" },
            ["allowInsecureAuth"] = true,
            ["disableReverseLookup"] = true,
        });
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);

        string xoauth2 = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes("user=alice\u0001auth=Bearer looking-glass\u0001\u0001"));
        Reply challenge = await client.CommandAsync("AUTH XOAUTH2 " + xoauth2);
        Assert.Equal(334, challenge.Code);
        using (var json = System.Text.Json.JsonDocument.Parse(Convert.FromBase64String(challenge.Line[4..])))
        {
            Assert.Equal("401", json.RootElement.GetProperty("status").GetString());
            Assert.Equal("bearer", json.RootElement.GetProperty("schemes").GetString());
            Assert.Equal("https://mail.google.com/", json.RootElement.GetProperty("scope").GetString());
        }

        Assert.Equal(535, (await client.CommandAsync("")).Code);

        string oauthBearer = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes("n,a=alice,\u0001auth=Bearer looking-glass\u0001\u0001"));
        challenge = await client.CommandAsync("AUTH OAUTHBEARER " + oauthBearer);
        Assert.Equal(334, challenge.Code);
        using (var json = System.Text.Json.JsonDocument.Parse(Convert.FromBase64String(challenge.Line[4..])))
        {
            Assert.Equal("invalid_token", json.RootElement.GetProperty("status").GetString());
        }

        Assert.Equal(535, (await client.CommandAsync("\u0001")).Code);

        // The right token still works.
        string good = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes("user=alice\u0001auth=Bearer wonderland\u0001\u0001"));
        Assert.Equal(235, (await client.CommandAsync("AUTH XOAUTH2 " + good)).Code);
    }

    private static MimeMessage Message()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@example.com"));
        message.To.Add(MailboxAddress.Parse("bob@example.org"));
        message.Subject = "authenticated";
        message.Body = new TextPart("plain") { Text = "hello" };
        return message;
    }

    /// <summary>Writes a self-signed certificate for <paramref name="name"/> as name.pem and name.key; returns its thumbprint.</summary>
    private static string WriteCertificate(string folder, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(Path.Combine(folder, name + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, name + ".key"), key.ExportPkcs8PrivateKeyPem());
        return certificate.Thumbprint;
    }

    /// <summary>STARTTLS with <paramref name="serverName"/> as SNI; returns the thumbprint of the certificate the server presented.</summary>
    private static async Task<string> PresentedCertificateAsync(ServerProcess server, string serverName)
    {
        string? thumbprint = null;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint);
        using var client = new SmtpClient
        {
            ServerCertificateValidationCallback = (_, certificate, _, _) =>
            {
                thumbprint = certificate!.GetCertHashString();
                return true;
            },
        };
        await client.ConnectAsync(socket, serverName, server.EndPoint.Port, SecureSocketOptions.StartTls);
        await client.DisconnectAsync(true);
        return thumbprint!;
    }
}
