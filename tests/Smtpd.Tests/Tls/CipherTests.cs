using System.Net.Security;
using System.Security.Authentication;

namespace Smtpd.Tests.Tls;

public class CipherTests
{
    private static async Task<SmtpSession> HandshakeAsync(Action<SmtpServerOptions> configure, SslProtocols clientProtocols = SslProtocols.None)
    {
        SmtpSession? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.OnSecure = (session, _) =>
            {
                seen = session;
                return default;
            };
            configure(o);
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync(protocols: clientProtocols);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        return seen!;
    }

    [Fact]
    public async Task By_default_tls_1_3_is_negotiated()
    {
        SmtpSession session = await HandshakeAsync(_ => { });
        Assert.Equal(SslProtocols.Tls13, session.TlsProtocol);
    }

    [Fact]
    public async Task Ciphers_in_openssl_syntax_select_the_suite_and_without_tls13_suites_turn_tls13_off()
    {
        SmtpSession session = await HandshakeAsync(o => o.Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256");
        Assert.Equal(SslProtocols.Tls12, session.TlsProtocol);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, session.TlsCipherSuite);
    }

    [Fact]
    public async Task Ciphers_can_name_a_tls13_suite()
    {
        SmtpSession session = await HandshakeAsync(o => o.Ciphers = "TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
        Assert.Equal(SslProtocols.Tls13, session.TlsProtocol);
        Assert.Equal(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, session.TlsCipherSuite);
    }

    [Fact]
    public async Task Every_suite_the_table_knows_is_accepted_by_the_platform()
    {
        SmtpSession session = await HandshakeAsync(o => o.Ciphers = "ALL:COMPLEMENTOFALL:TLS_AES_128_GCM_SHA256");
        Assert.Equal(TlsCipherSuite.TLS_AES_128_GCM_SHA256, session.TlsCipherSuite);
    }

    [Fact]
    public async Task Openssl_client_sees_only_the_configured_suites()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.Ciphers = "ECDHE+AESGCM:!AES256";
        });
        using var openssl = new OpenSslClient();
        ProcessResult tls12 = await openssl.RunAsync(server.Port, startTls: true, "", "-tls1_2");
        Assert.Contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256", tls12.StandardOutput);
        ProcessResult refused = await openssl.RunAsync(server.Port, startTls: true, "", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384");
        Assert.Contains("Cipher is (NONE)", refused.StandardOutput);
        ProcessResult tls13 = await openssl.RunAsync(server.Port, startTls: true, "", "-tls1_3");
        Assert.Contains("Cipher is (NONE)", tls13.StandardOutput);
    }

    [Fact]
    public async Task SslProtocols_limits_the_versions()
    {
        SmtpSession session = await HandshakeAsync(o => o.SslProtocols = SslProtocols.Tls12);
        Assert.Equal(SslProtocols.Tls12, session.TlsProtocol);
        await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(o => o.SslProtocols = SslProtocols.Tls13, clientProtocols: SslProtocols.Tls12));
    }

    [Fact]
    public async Task Unknown_cipher_entries_are_logged_and_a_list_that_selects_nothing_is_refused()
    {
        var log = new ListLogger();
        await using (await TestServer.StartAsync(o =>
        {
            o.Certificate = TestPki.Shared.Server;
            o.Logger = log;
            o.Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:NO-SUCH-CIPHER";
        }))
        {
        }

        Assert.Contains("NO-SUCH-CIPHER", Assert.Single(log.Lines(6)));
        Assert.Contains("selects no cipher suite", Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o => o.Ciphers = "NO-SUCH-CIPHER:!ALL"))).Message);
        Assert.Throws<ArgumentException>(() => new SmtpServer(TestServer.Defaults(o =>
        {
            o.Ciphers = "TLS_AES_128_GCM_SHA256";
            o.SslProtocols = SslProtocols.Tls12;
        })));
    }

    [Fact]
    public void The_cipher_list_syntax_follows_openssl()
    {
        Assert.Equal([TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384],
            OpenSslCipherTable.Parse("ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_256_GCM_SHA384", out List<string> unknown));
        Assert.Empty(unknown);

        // Keywords, combined with '+', never select TLS 1.3 suites.
        List<TlsCipherSuite> gcm = OpenSslCipherTable.Parse("ECDHE+AESGCM", out _);
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, gcm);
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, gcm);
        Assert.All(gcm, s => Assert.Contains("ECDHE", s.ToString()));
        Assert.All(gcm, s => Assert.Contains("GCM", s.ToString()));

        // '!' removes for good, '-' can be added back, '+' moves to the end, @STRENGTH sorts strongest first.
        Assert.DoesNotContain(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, OpenSslCipherTable.Parse("ECDHE+AESGCM:!AES256:ECDHE-ECDSA-AES256-GCM-SHA384", out _));
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, OpenSslCipherTable.Parse("ECDHE+AESGCM:-AES256:ECDHE-ECDSA-AES256-GCM-SHA384", out _));
        List<TlsCipherSuite> moved = OpenSslCipherTable.Parse("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:+AES128", out _);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, moved[^1]);
        List<TlsCipherSuite> strongest = OpenSslCipherTable.Parse("ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384,@STRENGTH", out _);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, strongest[0]);

        // Node.js's default list: the two names OpenSSL does not know either are reported; the excluded families stay out.
        List<TlsCipherSuite> node = OpenSslCipherTable.Parse(
            "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
            + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:"
            + "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA256:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA",
            out unknown);
        Assert.Equal(["DHE-RSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA256"], unknown);
        Assert.Equal(TlsCipherSuite.TLS_AES_256_GCM_SHA384, node[0]);
        Assert.DoesNotContain(node, s => s.ToString().Contains("CAMELLIA", StringComparison.Ordinal) || s.ToString().Contains("PSK", StringComparison.Ordinal)
            || s.ToString().Contains("NULL", StringComparison.Ordinal) || s.ToString().Contains("anon", StringComparison.Ordinal));
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, node);

        OpenSslCipherTable.Parse("FOO:@BAR:ECDHE-RSA-AES128-SHA:@SECLEVEL=1", out unknown);
        Assert.Equal(["FOO", "@BAR"], unknown);
    }
}
