using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace Smtpd.Tests.Tls;

public class ClientCertificateTests
{
    private static readonly string CaPem = TestPki.CertificatePem(TestPki.Shared.Ca);

    private sealed record Seen(X509Certificate2? Certificate, SslPolicyErrors Errors, bool Authorized);

    private static async Task<(TestServer Server, List<Seen> Seen)> StartAsync(Action<SmtpServerOptions> configure)
    {
        var seen = new List<Seen>();
        TestServer server = await TestServer.StartAsync(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.Secure = true;
            o.OnSecure = (session, _) =>
            {
                lock (seen)
                {
                    seen.Add(new Seen(session.ClientCertificate, session.ClientCertificateErrors, session.ClientCertificateAuthorized));
                }

                return default;
            };
            configure(o);
        });
        return (server, seen);
    }

    private static async Task<bool> TryConnectAsync(TestServer server, X509Certificate2? certificate)
    {
        try
        {
            await using TlsTestClient client = await TlsTestClient.ConnectImplicitAsync(server.EndPoint, clientCertificate: certificate);
            return (await client.CommandAsync("NOOP")).Code == 250;
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Openssl_client_certificate_is_validated_against_Ca_and_put_on_the_session()
    {
        var closed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        (TestServer server, List<Seen> seen) = await StartAsync(o =>
        {
            o.RequestCert = true;
            o.Ca = [CaPem];
            o.OnClose = (session, _) =>
            {
                // The certificate outlives the TLS stream.
                closed.TrySetResult(session.ClientCertificate!.Thumbprint);
                return default;
            };
        });
        await using (server)
        {
            using var openssl = new OpenSslClient();
            ProcessResult result = await openssl.RunAsync(server.Port, startTls: false, "NOOP\nQUIT\n", "-cert", openssl.File("client.crt"), "-key", openssl.File("client.key"), "-crlf", "-ign_eof");
            Assert.Contains("Acceptable client certificate CA names", result.StandardOutput);
            Assert.Contains("CN = Smtpd Test Root CA", result.StandardOutput);
            Assert.Contains("250 OK", result.StandardOutput);
            Seen one = Assert.Single(seen);
            Assert.Equal("CN=client.example", one.Certificate?.Subject);
            Assert.Equal(SslPolicyErrors.None, one.Errors);
            Assert.True(one.Authorized);
            Assert.Equal(TestPki.Shared.Client.Thumbprint, await closed.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public async Task Without_RequestCert_no_client_certificate_is_asked_for()
    {
        (TestServer server, List<Seen> seen) = await StartAsync(o => o.Ca = [CaPem]);
        await using (server)
        {
            Assert.True(await TryConnectAsync(server, TestPki.Shared.Client));
            Seen one = Assert.Single(seen);
            Assert.Null(one.Certificate);
            Assert.Equal(SslPolicyErrors.None, one.Errors);
            Assert.False(one.Authorized);
        }
    }

    [Fact]
    public async Task Without_RejectUnauthorized_missing_and_untrusted_certificates_are_let_in_and_reported()
    {
        (TestServer server, List<Seen> seen) = await StartAsync(o =>
        {
            o.RequestCert = true;
            o.Ca = [CaPem];
        });
        await using (server)
        {
            Assert.True(await TryConnectAsync(server, null));
            Assert.True(await TryConnectAsync(server, TestPki.Shared.UntrustedClient));
            Assert.Equal(2, seen.Count);
            Assert.Null(seen[0].Certificate);
            Assert.Equal(SslPolicyErrors.RemoteCertificateNotAvailable, seen[0].Errors);
            Assert.Equal("CN=stranger.example", seen[1].Certificate?.Subject);
            Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, seen[1].Errors);
            Assert.False(seen[1].Authorized);
        }
    }

    [Fact]
    public async Task RejectUnauthorized_fails_the_handshake_for_missing_and_untrusted_certificates()
    {
        var log = new ListLogger();
        (TestServer server, List<Seen> seen) = await StartAsync(o =>
        {
            o.RequestCert = true;
            o.RejectUnauthorized = true;
            o.Ca = [CaPem];
            o.Logger = log;
        });
        await using (server)
        {
            Assert.False(await TryConnectAsync(server, null));
            Assert.False(await TryConnectAsync(server, TestPki.Shared.UntrustedClient));
            Assert.True(await TryConnectAsync(server, TestPki.Shared.Client));
            Assert.Equal("CN=client.example", Assert.Single(seen).Certificate?.Subject);
            await log.WaitForAsync(301);
        }
    }

    [Fact]
    public async Task Ca_replaces_the_system_trust_store_for_client_certificates()
    {
        (TestServer server, List<Seen> seen) = await StartAsync(o =>
        {
            o.RequestCert = true;
            o.Ca = [TestPki.CertificatePem(TestPki.Shared.OtherCa)];
        });
        await using (server)
        {
            Assert.True(await TryConnectAsync(server, TestPki.Shared.UntrustedClient));
            Assert.True(await TryConnectAsync(server, TestPki.Shared.Client));
            Assert.True(seen[0].Authorized);
            Assert.False(seen[1].Authorized);
        }

        // Without Ca the system store decides, which trusts neither test CA.
        (TestServer plain, List<Seen> plainSeen) = await StartAsync(o => o.RequestCert = true);
        await using (plain)
        {
            Assert.True(await TryConnectAsync(plain, TestPki.Shared.Client));
            Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, Assert.Single(plainSeen).Errors);
        }
    }

    [Fact]
    public async Task CaCertificates_take_the_trusted_CAs_as_objects()
    {
        (TestServer server, List<Seen> seen) = await StartAsync(o =>
        {
            o.RequestCert = true;
            o.RejectUnauthorized = true;
            o.CaCertificates = [X509CertificateLoader.LoadCertificate(TestPki.Shared.Ca.RawData)];
        });
        await using (server)
        {
            Assert.True(await TryConnectAsync(server, TestPki.Shared.Client));
            Assert.False(await TryConnectAsync(server, TestPki.Shared.UntrustedClient));
            Assert.True(Assert.Single(seen).Authorized);
        }
    }

    [Fact]
    public async Task A_resumable_session_from_a_server_without_client_certificates_does_not_skip_the_request()
    {
        // The client caches the session of the first server (same certificate, no certificate request) and offers it
        // to the second one; the second must still ask for and validate the client's certificate.
        (TestServer first, List<Seen> _) = await StartAsync(_ => { });
        await using (first)
        {
            Assert.True(await TryConnectAsync(first, TestPki.Shared.Client));
            Assert.True(await TryConnectAsync(first, TestPki.Shared.Client));
        }

        (TestServer second, List<Seen> seen) = await StartAsync(o =>
        {
            o.RequestCert = true;
            o.Ca = [CaPem];
        });
        await using (second)
        {
            Assert.True(await TryConnectAsync(second, TestPki.Shared.Client));
            Assert.True(await TryConnectAsync(second, TestPki.Shared.Client));
            Assert.All(seen, s => Assert.True(s.Authorized));
            Assert.Equal(2, seen.Count);
        }
    }

    [Fact]
    public async Task MailKit_presents_a_client_certificate_after_StartTls()
    {
        (TestServer server, List<Seen> seen) = await StartAsync(o =>
        {
            o.Secure = false;
            o.RequestCert = true;
            o.RejectUnauthorized = true;
            o.Ca = [CaPem];
        });
        await using (server)
        {
            using var client = new SmtpClient();
            client.ServerCertificateValidationCallback = (_, _, _, _) => true;
            client.ClientCertificates = [TestPki.Shared.Client];
            await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.StartTls);
            await client.NoOpAsync();
            await client.DisconnectAsync(true);
            Assert.True(Assert.Single(seen).Authorized);
        }
    }
}
