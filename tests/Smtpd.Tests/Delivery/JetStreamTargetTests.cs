using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Smtpd.Tests.Server;
using StoredMessage = Smtpd.Tests.Server.StoredMessage;

namespace Smtpd.Tests.Delivery;

/// <summary>The program's JetStream target against a real nats-server: what a message carries, de-duplication, large
/// messages, start-up checks, and NATS going away and coming back.</summary>
public class JetStreamTargetTests
{
    [Fact]
    public async Task Message_carries_the_folder_store_pair_its_id_is_the_msg_id_and_a_retried_publish_is_stored_once()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        int admin = JetStreamTestSupport.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["store"] = nats.Urls, ["name"] = "mx.test", ["disableReverseLookup"] = true, ["admin"] = $"127.0.0.1:{admin}",

            // ENVID is DSN's: refused with 555 while DSN is not advertised.
            ["hideDSN"] = false,
        });
        Assert.Contains("storing messages in JetStream stream MAIL (subject mail.in)", server.StandardOutput);
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Assert.Equal(250, (await client.CommandAsync("EHLO raw.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com> BODY=8BITMIME ENVID=a+2Bb")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendBytesAsync([.. "Subject: exact\r\n\r\n..stuffed\r\nbare\nlf\r\n"u8, 0xC3, 0xA9, 0xFF, .. "\r\n.\r\n"u8]);
        Reply reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        string id = reply.Line["250 OK: message queued as ".Length..];

        // The consumer sample writes exactly the pair the folder store would have written, named by Nats-Msg-Id.
        StoredMessage stored = StoredMessage.ReadSingle(await JetStreamTestSupport.DrainAsync(nats.Urls));
        Assert.Equal(id, stored.Id);
        // The program's default bareLineEndings (normalize) made the bare LF a CRLF.
        Assert.Equal([.. "Subject: exact\r\n\r\n.stuffed\r\nbare\r\nlf\r\n"u8, 0xC3, 0xA9, 0xFF, .. "\r\n"u8], stored.Body);
        Assert.Matches($"^Return-Path: <s@example.com>\r\nReceived: from raw.example \\(\\[127.0.0.1\\]\\)\r\n\tby mx.test with ESMTP id {id};\r\n\t.* \\+0000\r\n$", stored.Trace);
        Assert.Equal("a+b", stored.Envelope.GetProperty("mailFrom").GetProperty("args").GetProperty("ENVID").GetString());
        Assert.Equal("127.0.0.1", stored.Envelope.GetProperty("remoteAddress").GetString());
        Assert.Equal(stored.Body.Length, stored.Envelope.GetProperty("size").GetInt64());

        // A publish repeated with the same Nats-Msg-Id (what the program does after a lost acknowledgement) is not stored again.
        await using NatsConnection connection = nats.Connect();
        var js = new NatsJSContext(connection);
        PubAckResponse again = await js.PublishAsync("mail.in", stored.Eml, opts: new NatsJSPubOpts { MsgId = id });
        Assert.True(again.Duplicate);
        Assert.Equal(0, (await js.GetStreamAsync("MAIL")).Info.State.Messages);
        Assert.Equal(1ul, again.Seq);

        (int status, string body) = await JetStreamTestSupport.GetAsync(admin, "/healthz");
        Assert.Equal((200, "Healthy"), (status, body));
        (status, body) = await JetStreamTestSupport.GetAsync(admin, "/metrics");
        Assert.Equal(200, status);
        Assert.Contains("smtpd_messages_total{otel_scope_name=\"Smtpd\",smtpd_message_result=\"accepted\"} 1", body);

        // The semantic-convention names: the unit is a suffix the exporter adds, the connection carries its endpoint.
        Assert.Contains("smtpd_message_size_bytes_count{otel_scope_name=\"Smtpd\",smtpd_message_result=\"accepted\"} 1", body);
        string connections = Assert.Single(body.Split('\n'), l => l.StartsWith("smtpd_connections_total{", StringComparison.Ordinal));
        Assert.Contains($"server_port=\"{server.EndPoint.Port}\"", connections);
        Assert.Contains("network_transport=\"tcp\"", connections);
        Assert.DoesNotContain("received_bytes", body);
    }

    [Fact]
    public async Task Store_nats_and_admin_are_read_from_SMTPD_environment_variables()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        int admin = JetStreamTestSupport.FreePort();

        // The config file names a folder (the test default): the environment beats the file, nested keys take "__".
        await using ServerProcess server = await ServerProcess.StartAsync(environment: new()
        {
            ["SMTPD_STORE"] = nats.Urls, ["SMTPD_NATS__STREAM"] = "ENVMAIL", ["SMTPD_NATS__SUBJECT"] = "env.in",
            ["SMTPD_NATS__PUBLISHTIMEOUT"] = "3000", ["SMTPD_ADMIN"] = $"127.0.0.1:{admin}",
        });
        Assert.Contains("storing messages in JetStream stream ENVMAIL (subject env.in)", server.StandardOutput);
        Assert.Equal(200, (await JetStreamTestSupport.GetAsync(admin, "/healthz")).Status);
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        await ServerStoreTests.StartDataAsync(client);
        await client.SendAsync("Subject: env\r\n\r\nfrom the environment\r\n.\r\n");
        Reply reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);

        StoredMessage stored = StoredMessage.ReadSingle(await JetStreamTestSupport.DrainAsync(nats.Urls, stream: "ENVMAIL"));
        Assert.Equal(reply.Line["250 OK: message queued as ".Length..], stored.Id);
    }

    [Fact]
    public async Task A_25_MiB_message_is_delivered_whole()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["store"] = nats.Urls, ["size"] = 26 * 1024 * 1024 });
        byte[] line = Encoding.ASCII.GetBytes(new string('m', 1022) + "\r\n");
        byte[] body = [.. "Subject: large\r\n\r\n"u8, .. Enumerable.Repeat(line, 25 * 1024).SelectMany(l => l)];
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        await ServerStoreTests.StartDataAsync(client);
        await client.SendBytesAsync([.. body, .. ".\r\n"u8]);
        Assert.Equal(250, (await client.ReadReplyAsync(TimeSpan.FromSeconds(60))).Code);

        StoredMessage stored = StoredMessage.ReadSingle(await JetStreamTestSupport.DrainAsync(nats.Urls));
        Assert.Equal(body, stored.Body);
        Assert.True(body.Length > 25 * 1024 * 1024);
    }

    [Fact]
    public async Task Nats_down_gives_451_keeps_serving_and_delivery_resumes_when_it_is_back()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        int admin = JetStreamTestSupport.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["store"] = nats.Urls, ["nats"] = new Dictionary<string, object?> { ["publishTimeout"] = 1500 },
            ["admin"] = $"127.0.0.1:{admin}", ["hideENHANCEDSTATUSCODES"] = false,
        });
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        await ServerStoreTests.StartDataAsync(client);
        await client.SendAsync("Subject: before\r\n\r\nfirst\r\n.\r\n");
        string before = (await client.ReadReplyAsync()).Line["250 2.0.0 OK: message queued as ".Length..];

        nats.KillAll();
        await ServerStoreTests.StartDataAsync(client, helo: false);
        await client.SendAsync("Subject: during\r\n\r\nsecond\r\n.\r\n");
        Assert.Equal("451 4.3.0 Error: cannot store the message now, try again later", (await client.ReadReplyAsync()).Line);
        Assert.Equal(503, (await JetStreamTestSupport.GetAsync(admin, "/healthz")).Status);
        Assert.False(server.Process.HasExited);
        await using (RawClient other = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            Assert.Equal(250, (await other.CommandAsync("EHLO still.serving")).Code);
        }

        nats.RestartAll();
        await JetStreamTestSupport.WaitUntilAsync(async () => (await JetStreamTestSupport.GetAsync(admin, "/healthz")).Status == 200, "the health check passes again", TimeSpan.FromSeconds(30));
        await ServerStoreTests.StartDataAsync(client, helo: false);
        await client.SendAsync("Subject: after\r\n\r\nthird\r\n.\r\n");
        Reply after = await client.ReadReplyAsync();
        Assert.Equal(250, after.Code);

        // Only the two acknowledged messages are there for a consumer: the refused one was never stored, or was revoked.
        await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Contains("Revoked "), "the refused message is revoked", TimeSpan.FromSeconds(30));
        string[] ids = JetStreamTestSupport.PairIds(await JetStreamTestSupport.DrainAsync(nats.Urls));
        Assert.Equal(new[] { before, after.Line["250 2.0.0 OK: message queued as ".Length..] }.Order(StringComparer.Ordinal), ids);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task Without_size_or_with_0_the_advertised_SIZE_is_what_the_stream_takes_when_it_takes_less_than_the_default(string? size)
    {
        // The program's default size (25 MiB) must not stop it from starting on a stream that takes less (NATS's
        // max_payload is 1 MiB unless raised); an explicit size above the stream's limit is still refused (see below).
        await using NatsCluster nats = await NatsCluster.StartAsync();
        await using (NatsConnection connection = nats.Connect())
        {
            await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig("MAIL", ["mail.in"]) { MaxMsgSize = 1024 * 1024 });
        }

        await using ServerProcess server = await ServerProcess.StartAsync(
            size is null ? new() { ["store"] = nats.Urls } : new() { ["store"] = nats.Urls, ["size"] = long.Parse(size, System.Globalization.CultureInfo.InvariantCulture) });
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Reply ehlo = await client.CommandAsync("EHLO raw.example");
        string advertised = Assert.Single(ehlo.Lines, line => line.StartsWith("250-SIZE ", StringComparison.Ordinal) || line.StartsWith("250 SIZE ", StringComparison.Ordinal));
        long limit = long.Parse(advertised["250-SIZE ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(limit, 1, 1024 * 1024);
    }

    [Theory]
    [InlineData("missing", "nats: stream 'MAIL' does not exist and createStream is false")]
    [InlineData("other subject", "nats: stream 'MAIL' does not take the subject 'mail.in' (its subjects: other.in)")]
    [InlineData("unreachable", "store: cannot connect to NATS at nats://127.0.0.1:")]
    [InlineData("too small", "size: 2000000 is more than JetStream stream MAIL")]
    public async Task A_missing_or_unusable_stream_is_one_line_on_stderr_and_a_non_zero_exit(string problem, string message)
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        string urls = nats.Urls;
        var args = new List<string> { "--listen", "127.0.0.1:0" };
        switch (problem)
        {
            case "missing":
                args.AddRange(["--nats:createStream", "false"]);
                break;
            case "other subject":
                await using (NatsConnection connection = nats.Connect())
                {
                    await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig("MAIL", ["other.in"]));
                }

                break;
            case "unreachable":
                urls = $"nats://127.0.0.1:{JetStreamTestSupport.FreePort()}";
                break;
            case "too small":
                await using (NatsConnection connection = nats.Connect())
                {
                    await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig("MAIL", ["mail.in"]) { MaxMsgSize = 1024 * 1024 });
                }

                args.AddRange(["--size", "2000000"]);
                break;
        }

        args.AddRange(["--store", urls]);
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync([.. args], ServerProcess.NewFolder());
        Assert.NotEqual(0, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line);
    }

    [Fact]
    public async Task A_NATS_server_without_JetStream_is_one_line_on_stderr_and_exit_status_2()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync(jetStream: false);
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(["--listen", "127.0.0.1:0", "--store", nats.Urls], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.Equal(
            $"smtpd: store: the NATS server at {nats.Urls} has no JetStream (start nats-server with -js)",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Theory]
    [InlineData(new[] { "--store", "nats://127.0.0.1" }, "store: 'nats://127.0.0.1' is neither a folder nor nats://HOST:PORT or tls://HOST:PORT")]
    [InlineData(new[] { "--store", "nats://127.0.0.1:4222,http://127.0.0.1:80" }, "store: 'http://127.0.0.1:80' is neither a folder nor")]
    [InlineData(new[] { "--store", "mail", "--nats:stream", "MAIL" }, "nats: set, but store is a folder")]
    [InlineData(new[] { "--store", "nats://127.0.0.1:4222", "--nats:replicas", "7" }, "nats:replicas: expected 1 to 5, not 7")]
    [InlineData(new[] { "--store", "nats://127.0.0.1:4222", "--nats:subject", "mail.>" }, "nats:subject: 'mail.>' is not a subject to publish to")]
    [InlineData(new[] { "--store", "nats://127.0.0.1:4222", "--nats:publishTimeout", "soon" }, "nats:publishTimeout: 'soon' is not a positive time in milliseconds")]
    [InlineData(new[] { "--store", "nats://127.0.0.1:4222", "--nats:stream", "MAIL", "--nats:streem", "X" }, "nats:streem: unknown setting")]
    [InlineData(new[] { "--admin", "nowhere" }, "admin: 'nowhere' is not HOST:PORT")]
    [InlineData(new[] { "--store", "nats://smtpd:s3cret@127.0.0.1" }, "store: '…@127.0.0.1' is neither a folder nor")]
    public async Task A_bad_delivery_or_admin_setting_is_a_configuration_error(string[] args, string message)
    {
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(["--listen", "127.0.0.1:0", .. args], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.Contains(message, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.DoesNotContain("s3cret", stderr);
    }

    [Theory]
    [InlineData("mail.in", "mail.in", true)]
    [InlineData("mail.*", "mail.in", true)]
    [InlineData("mail.>", "mail.in", true)]
    [InlineData(">", "mail.in", true)]
    [InlineData("mail.>", "mail", false)]
    [InlineData("mail.*", "mail.in.x", false)]
    [InlineData("*.in", "mail.in", true)]
    [InlineData("mail.out", "mail.in", false)]
    [InlineData("mail.in.x", "mail.in", false)]
    public void A_stream_subject_with_wildcards_takes_the_publish_subject_as_NATS_matches_it(string pattern, string subject, bool takes) =>
        Assert.Equal(takes, Smtpd.Server.Delivery.JetStreamTarget.SubjectMatches(pattern, subject));

    [Fact]
    public async Task An_admin_port_in_use_is_a_configuration_error()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(["--listen", "127.0.0.1:0", "--admin", $"127.0.0.1:{port}"], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.Contains($"admin: cannot listen on 127.0.0.1:{port}", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
