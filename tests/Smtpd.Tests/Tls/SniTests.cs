using System.Security.Cryptography.X509Certificates;

namespace Smtpd.Tests.Tls;

public class SniTests
{
    private static void TwoNames(SmtpServerOptions o)
    {
        o.DisabledCommands = ["AUTH"];
        o.Certificate = TestPki.Shared.Server;
        o.SniOptions["alt.example"] = TestPki.Shared.Alt;
        o.SniOptions["B.Example"] = TestPki.Shared.Other;
    }

    [Fact]
    public async Task Openssl_starttls_gets_the_certificate_of_each_server_name()
    {
        await using var server = await TestServer.StartAsync(TwoNames);
        using var openssl = new OpenSslClient();
        Assert.Equal("subject=CN = alt.example", OpenSslClient.Subject(await openssl.RunAsync(server.Port, startTls: true, "", "-servername", "alt.example")));
        Assert.Equal("subject=CN = b.example", OpenSslClient.Subject(await openssl.RunAsync(server.Port, startTls: true, "", "-servername", "b.example")));
        Assert.Equal("subject=CN = mx.test", OpenSslClient.Subject(await openssl.RunAsync(server.Port, startTls: true, "", "-servername", "unknown.example")));
        Assert.Equal("subject=CN = mx.test", OpenSslClient.Subject(await openssl.RunAsync(server.Port, startTls: true, "", "-noservername")));
    }

    [Fact]
    public async Task Openssl_verifies_the_sni_certificate_on_implicit_tls()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            TwoNames(o);
            o.Secure = true;
        });
        using var openssl = new OpenSslClient();
        ProcessResult result = await openssl.RunAsync(server.Port, startTls: false, "NOOP\nQUIT\n",
            "-servername", "alt.example", "-verify_hostname", "alt.example", "-CAfile", openssl.File("ca.crt"), "-verify_return_error", "-crlf", "-ign_eof");
        Assert.Equal("subject=CN = alt.example", OpenSslClient.Subject(result));
        Assert.Contains("Verify return code: 0 (ok)", result.StandardOutput);
        Assert.Contains("250 OK", result.StandardOutput);
        Assert.Contains("221 Bye", result.StandardOutput);
    }

    [Fact]
    public async Task Server_names_match_case_insensitively_and_punycode_as_unicode()
    {
        var names = new List<string?>();
        await using var server = await TestServer.StartAsync(o =>
        {
            TwoNames(o);
            o.SniOptions["Bücher.Example"] = TestPki.Shared.Alt;
            o.OnSecure = (session, _) =>
            {
                lock (names)
                {
                    names.Add(session.ServerName);
                }

                return default;
            };
        });
        Assert.Equal("CN=b.example", await SubjectForAsync(server, "b.EXAMPLE"));
        Assert.Equal("CN=alt.example", await SubjectForAsync(server, "xn--bcher-kva.example"));
        Assert.Equal("CN=alt.example", await SubjectForAsync(server, "XN--BCHER-KVA.EXAMPLE"));
        Assert.Equal(["b.example", "bücher.example", "bücher.example"], names);
    }

    [Fact]
    public async Task The_sni_callback_chooses_first_and_falls_back_to_SniOptions_then_the_default()
    {
        var asked = new List<string>();
        var log = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            TwoNames(o);
            o.Logger = log;
            o.SniCallback = async (name, ct) =>
            {
                lock (asked)
                {
                    asked.Add(name);
                }

                await Task.Yield();
                return name switch
                {
                    "cb.example" => (SmtpTlsCertificate)TestPki.Shared.Alt,
                    "b.example" => (SmtpTlsCertificate)TestPki.Shared.Server,
                    "throw.example" => throw new InvalidOperationException("lookup failed"),
                    _ => (SmtpTlsCertificate?)null,
                };
            };
        });
        Assert.Equal("CN=alt.example", await SubjectForAsync(server, "CB.Example"));
        Assert.Equal("CN=mx.test", await SubjectForAsync(server, "b.example"));
        Assert.Equal("CN=alt.example", await SubjectForAsync(server, "alt.example"));
        Assert.Equal("CN=mx.test", await SubjectForAsync(server, "throw.example"));
        Assert.Equal("CN=mx.test", await SubjectForAsync(server, null));
        Assert.Equal(["cb.example", "b.example", "alt.example", "throw.example"], asked);
        Assert.Contains("throw.example", await log.WaitForAsync(304));
    }

    [Fact]
    public async Task UpdateSecureContext_gives_new_handshakes_the_new_certificates()
    {
        await using var server = await TestServer.StartAsync(TwoNames);
        await using var before = await StartTlsAsync(server, "alt.example");
        Assert.Equal(TestPki.Shared.Alt.Thumbprint, before.ServerCertificate!.Thumbprint);

        server.Server.UpdateSecureContext(o =>
        {
            o.Certificate = null;
            o.Cert = TestPki.CertificatePem(TestPki.Shared.Other);
            o.Key = TestPki.KeyPem(TestPki.Shared.Other);
            o.SniOptions.Remove("alt.example");
            o.SniOptions["new.example"] = TestPki.Shared.Alt;
            o.Secured = true;
        });
        Assert.Equal(TestPki.CertificatePem(TestPki.Shared.Other), server.Server.Options.Cert);
        Assert.False(server.Server.Options.Secured);

        Assert.Equal(TestPki.Shared.Other.Thumbprint, (await SubjectAndThumbprintAsync(server, null)).Thumbprint);
        Assert.Equal(TestPki.Shared.Other.Thumbprint, (await SubjectAndThumbprintAsync(server, "alt.example")).Thumbprint);
        Assert.Equal(TestPki.Shared.Alt.Thumbprint, (await SubjectAndThumbprintAsync(server, "new.example")).Thumbprint);

        // The session secured before the update goes on.
        Assert.Equal(250, (await before.CommandAsync("NOOP")).Code);

        // Unusable material is refused and changes nothing.
        Assert.Throws<ArgumentException>(() => server.Server.UpdateSecureContext(o => o.Cert = "not a certificate"));
        Assert.Equal(TestPki.Shared.Other.Thumbprint, (await SubjectAndThumbprintAsync(server, null)).Thumbprint);
    }

    [Fact]
    public async Task UpdateSecureContext_renews_from_pem_a_server_started_with_a_certificate_object()
    {
        await using var server = await TestServer.StartAsync(TwoNames);
        server.Server.UpdateSecureContext(o =>
        {
            o.Cert = TestPki.CertificatePem(TestPki.Shared.Other);
            o.Key = TestPki.KeyPem(TestPki.Shared.Other);
        });
        Assert.Null(server.Server.Options.Certificate);
        Assert.Equal(TestPki.Shared.Other.Thumbprint, (await SubjectAndThumbprintAsync(server, null)).Thumbprint);
    }

    [Fact]
    public async Task UpdateSecureContext_takes_a_certificate_object_on_a_server_started_from_pem()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Cert = TestPki.CertificatePem(TestPki.Shared.Other);
            o.Key = TestPki.KeyPem(TestPki.Shared.Other);
        });
        server.Server.UpdateSecureContext(o => o.Certificate = TestPki.Shared.Alt);
        Assert.Null(server.Server.Options.Cert);
        Assert.Null(server.Server.Options.Key);
        Assert.Equal(TestPki.Shared.Alt.Thumbprint, (await SubjectAndThumbprintAsync(server, null)).Thumbprint);

        // Both forms set by the same update still contradict each other.
        Assert.Throws<ArgumentException>(() => server.Server.UpdateSecureContext(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.Cert = TestPki.CertificatePem(TestPki.Shared.Other);
            o.Key = TestPki.KeyPem(TestPki.Shared.Other);
        }));
        Assert.Equal(TestPki.Shared.Alt.Thumbprint, (await SubjectAndThumbprintAsync(server, null)).Thumbprint);
    }

    private static async Task<TlsTestClient> StartTlsAsync(TestServer server, string? name)
    {
        TlsTestClient client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync(name);
        return client;
    }

    private static async Task<string> SubjectForAsync(TestServer server, string? name) => (await SubjectAndThumbprintAsync(server, name)).Subject;

    private static async Task<(string Subject, string Thumbprint)> SubjectAndThumbprintAsync(TestServer server, string? name)
    {
        await using TlsTestClient client = await StartTlsAsync(server, name);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        X509Certificate2 certificate = client.ServerCertificate!;
        return (certificate.Subject, certificate.Thumbprint);
    }
}
