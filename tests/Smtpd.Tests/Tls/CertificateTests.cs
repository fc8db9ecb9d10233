using System.Security.Cryptography.X509Certificates;

namespace Smtpd.Tests.Tls;

public class CertificateTests
{
    private static async Task<X509Certificate2> ServerCertificateAsync(TestServer server, string? name = "mx.test")
    {
        await using TlsTestClient client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync(name);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        return client.ServerCertificate!;
    }

    [Fact]
    public async Task Key_and_Cert_as_pem_text_are_served()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Key = TestPki.KeyPem(TestPki.Shared.Server);
            o.Cert = TestPki.CertificatePem(TestPki.Shared.Server);
        });
        Assert.Equal(TestPki.Shared.Server.Thumbprint, (await ServerCertificateAsync(server)).Thumbprint);
    }

    [Fact]
    public async Task Cert_may_hold_the_key_itself()
    {
        await using var server = await TestServer.StartAsync(o => o.Cert = TestPki.CertificatePem(TestPki.Shared.Alt) + TestPki.KeyPem(TestPki.Shared.Alt));
        Assert.Equal(TestPki.Shared.Alt.Thumbprint, (await ServerCertificateAsync(server)).Thumbprint);
    }

    [Fact]
    public async Task Certificate_takes_an_X509Certificate2()
    {
        await using var server = await TestServer.StartAsync(o => o.Certificate = TestPki.Shared.Alt);
        Assert.Equal(TestPki.Shared.Alt.Thumbprint, (await ServerCertificateAsync(server)).Thumbprint);
    }

    [Fact]
    public async Task Passphrase_opens_an_encrypted_key_and_a_wrong_one_is_refused_at_construction()
    {
        string cert = TestPki.CertificatePem(TestPki.Shared.Server);
        string key = TestPki.EncryptedKeyPem(TestPki.Shared.Server, "s3cret");
        Assert.Contains("ENCRYPTED PRIVATE KEY", key);
        await using (var server = await TestServer.StartAsync(o =>
        {
            o.Cert = cert;
            o.Key = key;
            o.Passphrase = "s3cret";
        }))
        {
            Assert.Equal(TestPki.Shared.Server.Thumbprint, (await ServerCertificateAsync(server)).Thumbprint);
        }

        var error = Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o =>
        {
            o.Cert = cert;
            o.Key = key;
            o.Passphrase = "wrong";
        })));
        Assert.Contains("private key", error.Message);
        Assert.DoesNotContain("wrong", error.Message);
        Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o =>
        {
            o.Cert = cert;
            o.Key = key;
        })));
    }

    [Fact]
    public async Task Intermediates_in_Cert_are_sent_so_that_clients_knowing_only_the_root_verify_the_chain()
    {
        string chain = TestPki.CertificatePem(TestPki.Shared.Chained) + TestPki.CertificatePem(TestPki.Shared.Intermediate);
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Cert = chain;
            o.Key = TestPki.KeyPem(TestPki.Shared.Chained);
        });
        using var openssl = new OpenSslClient();
        ProcessResult result = await openssl.RunAsync(server.Port, startTls: true, "", "-servername", "chained.example",
            "-verify_hostname", "chained.example", "-CAfile", openssl.File("ca.crt"), "-verify_return_error");
        Assert.Equal("subject=CN = chained.example", OpenSslClient.Subject(result));
        Assert.Contains("Verify return code: 0 (ok)", result.StandardOutput);
        Assert.Contains("1 s:CN = Smtpd Test Intermediate CA", result.StandardOutput);
    }

    [Fact]
    public async Task Ca_certificates_complete_the_chain_of_the_server_certificate()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Certificate = TestPki.Shared.Chained;
            o.Ca = [TestPki.CertificatePem(TestPki.Shared.Intermediate)];
        });
        using var openssl = new OpenSslClient();
        ProcessResult result = await openssl.RunAsync(server.Port, startTls: true, "", "-servername", "chained.example",
            "-CAfile", openssl.File("ca.crt"), "-verify_return_error");
        Assert.Contains("Verify return code: 0 (ok)", result.StandardOutput);
    }

    [Fact]
    public async Task Without_a_certificate_a_self_signed_one_for_the_name_is_generated_and_a_warning_logged_once()
    {
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Name = "generated.test";
            o.Logger = log;
        });
        X509Certificate2 first = await ServerCertificateAsync(server);
        X509Certificate2 second = await ServerCertificateAsync(server);
        Assert.Equal("CN=generated.test", first.Subject);
        Assert.Equal(first.Subject, first.Issuer);
        Assert.Equal(first.Thumbprint, second.Thumbprint);
        Assert.Single(log.Lines(5));
        Assert.Contains("generated.test", log.Lines(5).Single());
    }

    [Fact]
    public async Task A_configured_certificate_logs_no_warning_and_a_server_without_tls_generates_nothing()
    {
        var log = new ListLogger();
        await using (await TestServer.StartAsync(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.Logger = log;
        }))
        {
        }

        await using (var noTls = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["STARTTLS"];
            o.Logger = log;
        }))
        {
            Assert.Null(noTls.Server.Tls);
        }

        Assert.Empty(log.Lines(5));
    }

    [Fact]
    public void Unusable_tls_options_are_refused_at_construction_with_a_clear_message()
    {
        Assert.Contains("no certificate", Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o => o.Cert = "garbage"))).Message);
        Assert.Contains("Cert", Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o => o.Key = TestPki.KeyPem(TestPki.Shared.Server)))).Message);
        Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.Cert = TestPki.CertificatePem(TestPki.Shared.Server);
        })));
        Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o => o.Cert = TestPki.CertificatePem(TestPki.Shared.Server) + TestPki.KeyPem(TestPki.Shared.Alt))));
        Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o => o.Ca = ["not pem"])));
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(TestPki.Shared.Server.RawData);
        Assert.Throws<ArgumentException>(() => new SmtpTlsCertificate(publicOnly));
    }

    [Fact]
    public async Task FromPemFile_loads_the_chain_and_key_from_files()
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("smtpd-pem-");
        try
        {
            string certPath = Path.Combine(folder.FullName, "chained.crt");
            string keyPath = Path.Combine(folder.FullName, "chained.key");
            string combinedPath = Path.Combine(folder.FullName, "alt.pem");
            string caPath = Path.Combine(folder.FullName, "ca.crt");
            File.WriteAllText(certPath, TestPki.CertificatePem(TestPki.Shared.Chained) + TestPki.CertificatePem(TestPki.Shared.Intermediate));
            File.WriteAllText(keyPath, TestPki.KeyPem(TestPki.Shared.Chained));
            File.WriteAllText(combinedPath, TestPki.CertificatePem(TestPki.Shared.Alt) + TestPki.KeyPem(TestPki.Shared.Alt));
            File.WriteAllText(caPath, TestPki.CertificatePem(TestPki.Shared.Ca) + TestPki.CertificatePem(TestPki.Shared.OtherCa));

            SmtpTlsCertificate chained = SmtpTlsCertificate.FromPemFile(certPath, keyPath);
            Assert.Equal(TestPki.Shared.Chained.Thumbprint, chained.Certificate.Thumbprint);
            Assert.Equal(TestPki.Shared.Intermediate.Thumbprint, Assert.Single(chained.Intermediates).Thumbprint);
            SmtpTlsCertificate combined = SmtpTlsCertificate.FromPemFile(combinedPath);
            Assert.True(combined.Certificate.HasPrivateKey);
            Assert.Equal(2, SmtpTlsCertificate.LoadCertificatesFromPemFile(caPath).Count);
            Assert.Contains("missing.crt", Assert.Throws<ArgumentException>(() => SmtpTlsCertificate.FromPemFile(Path.Combine(folder.FullName, "missing.crt"))).Message);

            await using var server = await TestServer.StartAsync(o =>
            {
                o.Certificate = chained;
                o.SniOptions["alt.example"] = combined;
            });
            Assert.Equal(TestPki.Shared.Chained.Thumbprint, (await ServerCertificateAsync(server, "chained.example")).Thumbprint);
            Assert.Equal(TestPki.Shared.Alt.Thumbprint, (await ServerCertificateAsync(server, "alt.example")).Thumbprint);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
