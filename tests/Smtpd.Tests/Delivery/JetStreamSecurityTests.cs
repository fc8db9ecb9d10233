using NATS.Client.Core;
using Smtpd.Tests.Server;
using StoredMessage = Smtpd.Tests.Server.StoredMessage;

namespace Smtpd.Tests.Delivery;

/// <summary>
/// The JetStream target and the consumer sample against nats-servers that want TLS (a private CA made with openssl,
/// client certificates), a <c>.creds</c> file (operator mode) or a user and password: delivery works, a refusal is a
/// one-line start error that says what to check, and no secret appears in any output.
/// </summary>
public class JetStreamSecurityTests
{
    private const string Queued = "250 OK: message queued as ";

    [Theory]
    [InlineData("tlsCa")]
    [InlineData("SSL_CERT_FILE")]
    public async Task Over_tls_a_private_CA_given_as_tlsCa_or_as_the_system_bundle_is_trusted_and_messages_are_delivered(string trust)
    {
        using OpensslCa ca = await OpensslCa.CreateAsync();
        await using NatsCluster nats = await NatsCluster.StartAsync(
            config: ca.NatsServerTls(), scheme: "tls", client: options => options with { TlsOpts = new NatsTlsOpts { CaFile = ca.CaFile } });
        string[] args = trust == "tlsCa" ? ["--nats:tlsCa", ca.CaFile] : [];
        Dictionary<string, string>? environment = trust == "SSL_CERT_FILE" ? new() { ["SSL_CERT_FILE"] = ca.CaFile } : null;
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["store"] = nats.Urls }, args, environment);
        Assert.Contains($"storing messages in JetStream stream MAIL (subject mail.in) at {nats.Urls}", server.StandardOutput);

        Reply reply = await SendAsync(server, "over TLS");
        Assert.Equal(250, reply.Code);

        // The consumer sample trusts the CA the system's way: SSL_CERT_FILE names the bundle OpenSSL (and so .NET) reads.
        StoredMessage stored = StoredMessage.ReadSingle(await JetStreamTestSupport.DrainAsync(nats.Urls, environment: ["SSL_CERT_FILE=" + ca.CaFile]));
        Assert.Equal(reply.Line[Queued.Length..], stored.Id);
    }

    [Theory]
    [InlineData(false, "signed by a CA that the system trusts, or one given as nats:tlsCa")]
    [InlineData(true, "signed by a CA of nats:tlsCa")]
    public async Task A_NATS_certificate_that_is_not_trusted_is_a_one_line_start_error(bool otherCa, string hint)
    {
        using OpensslCa ca = await OpensslCa.CreateAsync();
        using OpensslCa stranger = await OpensslCa.CreateAsync("Some other CA");
        await using NatsCluster nats = await NatsCluster.StartAsync(
            config: ca.NatsServerTls(), scheme: "tls", client: options => options with { TlsOpts = new NatsTlsOpts { CaFile = ca.CaFile } });
        string[] args = ["--listen", "127.0.0.1:0", "--store", nats.Urls, .. otherCa ? (string[])["--nats:tlsCa", stranger.CaFile] : []];

        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(args, ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"smtpd: store: cannot connect to NATS at {nats.Urls}: ", line);
        Assert.Contains("certificate", line);
        Assert.EndsWith(hint + ")", line);
    }

    [Fact]
    public async Task A_NATS_server_that_verifies_clients_takes_tlsCert_and_tlsKey_and_refuses_the_program_without_them()
    {
        using OpensslCa ca = await OpensslCa.CreateAsync();
        await using NatsCluster nats = await NatsCluster.StartAsync(
            config: ca.NatsServerTls(verifyClients: true), scheme: "tls",
            client: options => options with { TlsOpts = new NatsTlsOpts { CaFile = ca.CaFile, CertFile = ca.ClientCert, KeyFile = ca.ClientKey } });

        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(
            ["--listen", "127.0.0.1:0", "--store", nats.Urls, "--nats:tlsCa", ca.CaFile], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.EndsWith(
            "(the TLS handshake failed: a server that verifies clients wants nats:tlsCert and nats:tlsKey)",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        await using ServerProcess server = await ServerProcess.StartAsync(
            new() { ["store"] = nats.Urls }, ["--nats:tlsCa", ca.CaFile, "--nats:tlsCert", ca.ClientCert, "--nats:tlsKey", ca.ClientKey]);
        Reply reply = await SendAsync(server, "mutual TLS");
        Assert.Equal(250, reply.Code);

        // The consumer sample takes the same three files; without its certificate it is one line and exit 1.
        ProcessResult refused = await JetStreamTestSupport.RunConsumerAsync(
            ["--url", nats.Urls, "--stream", "MAIL", "--out", Path.Combine(ServerProcess.NewFolder(), "inbox"), "--drain", "--tls-ca", ca.CaFile]);
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("cannot use stream MAIL at tls://127.0.0.1:", Assert.Single(refused.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        StoredMessage stored = StoredMessage.ReadSingle(await JetStreamTestSupport.DrainAsync(
            nats.Urls, options: ["--tls-ca", ca.CaFile, "--tls-cert", ca.ClientCert, "--tls-key", ca.ClientKey]));
        Assert.Equal(reply.Line[Queued.Length..], stored.Id);
    }

    [Theory]
    [InlineData("cert only", "nats: tlsCert and tlsKey go together")]
    [InlineData("key of another certificate", "nats:tlsCert: cannot use '")]
    [InlineData("CA not PEM", "nats:tlsCa: '")]
    [InlineData("CA missing", "nats:tlsCa: cannot use '")]
    public async Task An_unusable_tls_file_is_a_configuration_error(string problem, string message)
    {
        using OpensslCa ca = await OpensslCa.CreateAsync();
        string[] tls = problem switch
        {
            "cert only" => ["--nats:tlsCert", ca.ClientCert],
            "key of another certificate" => ["--nats:tlsCert", ca.ClientCert, "--nats:tlsKey", ca.ServerKey],
            "CA not PEM" => ["--nats:tlsCa", Path.Combine(ca.Folder, "client.ext")],
            _ => ["--nats:tlsCa", Path.Combine(ca.Folder, "missing.pem")],
        };
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(
            ["--listen", "127.0.0.1:0", "--store", "tls://127.0.0.1:4222", .. tls], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.StartsWith("smtpd: " + message, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task A_creds_file_authenticates_with_a_server_in_operator_mode_and_its_seed_is_never_shown()
    {
        var nkeys = new NatsOperator();
        string folder = ServerProcess.NewFolder();
        string creds = await nkeys.WriteCredsAsync(Path.Combine(folder, "smtpd.creds"));
        string strangerCreds = await new NatsOperator().WriteCredsAsync(Path.Combine(folder, "stranger.creds"));
        string notCreds = Path.Combine(folder, "not.creds");
        await File.WriteAllTextAsync(notCreds, "user = smtpd\n");
        await using NatsCluster nats = await NatsCluster.StartAsync(
            config: nkeys.ServerConfig(), client: options => options with { AuthOpts = NatsAuthOpts.Default with { CredsFile = creds } });

        var output = new List<string>();
        foreach ((string? file, string message) in new (string?, string)[]
        {
            (null, $"smtpd: store: cannot connect to NATS at {nats.Urls}: Server error: Authorization Violation (NATS refused the user and password of the URL, or wants credentials)"),
            (strangerCreds, $"smtpd: store: cannot connect to NATS at {nats.Urls}: Server error: Authorization Violation (NATS refused the user of nats:credentials)"),
            (notCreds, $"smtpd: nats:credentials: Error loading creds file '{notCreds}'"),
            (Path.Combine(folder, "missing.creds"), $"smtpd: nats:credentials: cannot use '{Path.Combine(folder, "missing.creds")}'"),
        })
        {
            (int exitCode, string stdout, string stderr) = await ServerProcess.RunToExitAsync(
                ["--listen", "127.0.0.1:0", "--store", nats.Urls, .. file is null ? (string[])[] : ["--nats:credentials", file]], ServerProcess.NewFolder());
            Assert.Equal(2, exitCode);
            Assert.StartsWith(message, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            output.AddRange([stdout, stderr]);
        }

        await using (ServerProcess server = await ServerProcess.StartAsync(new() { ["store"] = nats.Urls }, ["--nats:credentials", creds]))
        {
            Reply reply = await SendAsync(server, "with a creds file");
            Assert.Equal(250, reply.Code);

            // The consumer sample takes the same file.
            StoredMessage stored = StoredMessage.ReadSingle(await JetStreamTestSupport.DrainAsync(nats.Urls, options: ["--creds", creds]));
            Assert.Equal(reply.Line[Queued.Length..], stored.Id);
            output.AddRange([server.StandardOutput, server.StandardError]);
        }

        Assert.DoesNotContain(nkeys.UserSeed, string.Join("\n", output));
    }

    [Fact]
    public async Task A_token_in_the_urls_is_used_but_never_shown()
    {
        // nats://TOKEN@HOST:PORT: a user part without a password is NATS's authorization token.
        const string token = "t0ken-s3cret";
        await using NatsCluster nats = await NatsCluster.StartAsync(
            config: $"authorization {{ token: \"{token}\" }}\n",
            client: options => options with { AuthOpts = NatsAuthOpts.Default with { Token = token } });
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(
            ["--listen", "127.0.0.1:0", "--store", nats.UrlsWith("wr0ng-t0ken")], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.DoesNotContain("t0ken", stderr, StringComparison.Ordinal);

        string output;
        await using (ServerProcess server = await ServerProcess.StartAsync(new() { ["store"] = nats.UrlsWith(token) }))
        {
            Assert.Equal(250, (await SendAsync(server, "with a token")).Code);
            output = server.StandardOutput + server.StandardError;
        }

        Assert.Single(JetStreamTestSupport.PairIds(await JetStreamTestSupport.DrainAsync(nats.UrlsWith(token))));
        Assert.Contains($"at {nats.Urls}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_in_the_urls_is_used_but_never_shown_in_logs_errors_health_metrics_or_the_consumer()
    {
        // Characters a URL must percent-encode: the program hands the URL to NATS.Net as written, which decodes it.
        const string password = "s3cr@t:/pw", encoded = "s3cr%40t%3A%2Fpw", wrong = "wr0ng-s3cret";
        await using NatsCluster nats = await NatsCluster.StartAsync(
            config: $"authorization {{ user: smtpd, password: \"{password}\" }}\n",
            client: options => options with { AuthOpts = NatsAuthOpts.Default with { Username = "smtpd", Password = password } });
        var output = new List<string>();

        (int exitCode, string stdout, string stderr) = await ServerProcess.RunToExitAsync(
            ["--listen", "127.0.0.1:0", "--store", nats.UrlsWith("smtpd:" + wrong)], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.Equal(
            $"smtpd: store: cannot connect to NATS at {nats.Urls}: Server error: Authorization Violation (NATS refused the user and password of the URL, or wants credentials)",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        output.AddRange([stdout, stderr]);

        int admin = JetStreamTestSupport.FreePort();
        await using (ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["store"] = nats.UrlsWith("smtpd:" + encoded), ["admin"] = $"127.0.0.1:{admin}", ["nats"] = new Dictionary<string, object?> { ["publishTimeout"] = 1000 },
        }))
        {
            Assert.Contains($"storing messages in JetStream stream MAIL (subject mail.in) at {nats.Urls}", server.StandardOutput);
            Assert.Equal(250, (await SendAsync(server, "authenticated")).Code);

            // NATS goes away and comes back: the client's reconnection warnings, the 451 and its log line, the health
            // check's 503 and the metrics all name the servers without the password.
            nats.KillAll();
            await JetStreamTestSupport.WaitUntilAsync(async () => (await JetStreamTestSupport.GetAsync(admin, "/healthz")).Status == 503, "unhealthy", TimeSpan.FromSeconds(20));
            Assert.Equal(451, (await SendAsync(server, "while NATS is down")).Code);
            await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Contains("NATS.Client", StringComparison.Ordinal), "the NATS client logs", TimeSpan.FromSeconds(20));
            nats.RestartAll();
            await JetStreamTestSupport.WaitUntilAsync(async () => (await JetStreamTestSupport.GetAsync(admin, "/healthz")).Status == 200, "healthy again", TimeSpan.FromSeconds(30));
            Assert.Equal(250, (await SendAsync(server, "after the outage")).Code);
            output.Add((await JetStreamTestSupport.GetAsync(admin, "/healthz")).Body);
            output.Add((await JetStreamTestSupport.GetAsync(admin, "/metrics")).Body);
            output.AddRange([server.StandardOutput, server.StandardError]);
        }

        // The consumer sample: the password in --url works, a wrong one is a one-line error without it.
        Assert.Equal(2, JetStreamTestSupport.PairIds(await JetStreamTestSupport.DrainAsync(nats.UrlsWith("smtpd:" + encoded))).Length);
        ProcessResult refused = await JetStreamTestSupport.RunConsumerAsync(
            ["--url", nats.UrlsWith("smtpd:" + wrong), "--stream", "MAIL", "--out", Path.Combine(ServerProcess.NewFolder(), "inbox"), "--drain"]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"cannot use stream MAIL at {nats.Urls}: Server error: Authorization Violation", refused.StandardError.Trim());
        output.Add(refused.Output);

        string all = string.Join("\n", output);
        foreach (string secret in (string[])[password, encoded, wrong, "s3cr"])
        {
            Assert.DoesNotContain(secret, all);
        }
    }

    private static async Task<Reply> SendAsync(ServerProcess server, string subject)
    {
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        await ServerStoreTests.StartDataAsync(client);
        await client.SendAsync($"Subject: {subject}\r\n\r\nhi\r\n.\r\n");
        return await client.ReadReplyAsync();
    }
}
