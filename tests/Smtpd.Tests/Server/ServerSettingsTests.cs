using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MimeKit;

namespace Smtpd.Tests.Server;

/// <summary>The built program's settings: sources and their precedence, spellings, units, and the refusal of bad ones.</summary>
public class ServerSettingsTests
{
    [Fact]
    public async Task Without_arguments_it_listens_on_127_0_0_1_2525_and_stores_into_mail()
    {
        string folder = ServerProcess.NewFolder();
        await using ServerProcess server = await ServerProcess.StartAsync(settings: null, folder: folder, defaults: false);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 2525), server.EndPoint);
        Assert.Contains($"Listening on 127.0.0.1:2525, storing messages in {Path.Combine(folder, "mail")}", server.StandardOutput);

        // No users: AUTH is neither advertised nor required, so a client without credentials can send.
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Reply ehlo = await client.CommandAsync("EHLO newcomer.example");
        Assert.DoesNotContain(ehlo.Lines, line => line.Contains("AUTH", StringComparison.Ordinal));
        await ServerStoreTests.StartDataAsync(client, helo: false);
        await client.SendAsync("Subject: first\r\n\r\nhello\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(2, server.StoreEntries(Path.Combine(folder, "mail")).Length);
    }

    [Fact]
    public async Task Command_line_beats_environment_beats_file()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            new() { ["name"] = "file.test", ["banner"] = "from the file", ["size"] = 1000 },
            args: ["--size", "3000"],
            environment: new() { ["SMTPD_NAME"] = "env.test", ["SMTPD_SIZE"] = "2000" });
        await using RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal("220 env.test ESMTP from the file", (await client.ReadReplyAsync()).Line);
        Assert.Contains((await client.CommandAsync("EHLO x.example")).Lines, line => line[4..] == "SIZE 3000");
    }

    [Fact]
    public async Task Keys_match_in_camelCase_PascalCase_and_any_case()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            new() { ["Name"] = "mx.test", ["Size"] = 500, ["hideSize"] = true, ["HIDEPIPELINING"] = true, ["HeloResponse"] = "hi %s", ["hidestarttls"] = true },
            args: ["--Hide8BitMime", "true"],
            environment: new() { ["SMTPD_hidesmtputf8"] = "true" });
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Reply ehlo = await client.CommandAsync("EHLO x.example");
        Assert.Equal(["250-hi mx.test", "250 SIZE"], ehlo.Lines);
    }

    [Fact]
    public async Task Times_are_milliseconds()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["socketTimeout"] = 300, ["greetingDelay"] = 0 });
        // Timed from before the connection: the server arms the timeout after its greeting, so however late this client
        // reads the greeting under load, the 421 cannot come sooner than the 300 ms after the connection was made.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Assert.Equal("421 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Recipients_setting_accepts_listed_addresses_and_exact_domains_case_insensitively()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["recipients"] = new[] { "Alice@Example.org", "@example.com" },
            ["hideENHANCEDSTATUSCODES"] = false,
        });
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Assert.Equal(250, (await client.CommandAsync("EHLO x.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@elsewhere.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<alice@EXAMPLE.ORG>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<anyone@Example.Com>")).Code);
        Assert.Equal("550 5.1.1 Error: unknown recipient <bob@example.org>", (await client.CommandAsync("RCPT TO:<bob@example.org>")).Line);
        Assert.Equal(550, (await client.CommandAsync("RCPT TO:<anyone@sub.example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: policy\r\n\r\nok\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal(["alice@EXAMPLE.ORG", "anyone@Example.Com"], stored.Envelope.GetProperty("rcptTo").EnumerateArray().Select(r => r.GetProperty("address").GetString()));
    }

    [Fact]
    public async Task Recipients_policy_refusal_with_MailKit_leaves_nothing()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["recipients"] = "@example.com" });
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("s@example.com"));
        message.To.Add(MailboxAddress.Parse("stranger@example.net"));
        message.Body = new TextPart("plain") { Text = "refused" };
        using var client = new SmtpClient();
        await client.ConnectAsync(server.EndPoint.Address.ToString(), server.EndPoint.Port, MailKit.Security.SecureSocketOptions.None);
        SmtpCommandException refusal = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message));
        Assert.Equal(MailKit.Net.Smtp.SmtpStatusCode.MailboxUnavailable, refusal.StatusCode);
        Assert.Empty(server.StoreEntries());
    }

    [Fact]
    public async Task Logger_true_logs_the_sessions_and_false_by_default_does_not()
    {
        await using ServerProcess logging = await ServerProcess.StartAsync(new() { ["logger"] = true });
        await using ServerProcess silent = await ServerProcess.StartAsync();
        foreach (ServerProcess server in new[] { logging, silent })
        {
            await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        }

        await ServerProcess.WaitUntilAsync(() => logging.StandardOutput.Contains("C: QUIT", StringComparison.Ordinal), "the command is logged");
        Assert.Contains("Connection from", logging.StandardOutput);
        Assert.DoesNotContain("Connection from", silent.StandardOutput);
        Assert.DoesNotContain("C: QUIT", silent.StandardOutput);
    }

    public static TheoryData<string, string[], string> BadSettings => new()
    {
        { """{ "size": "abc" }""", [], "smtpd: size: 'abc' is not a whole number" },
        { """{ "lmtp": "maybe" }""", [], "smtpd: lmtp: 'maybe' is not true or false" },
        { """{ "socketTimeout": "soon" }""", [], "smtpd: socketTimeout: 'soon' is not a time in milliseconds" },
        { """{ "sise": 5 }""", [], "smtpd: unknown setting 'sise'" },
        { """{ "listen": "localhost" }""", [], "smtpd: listen: 'localhost' is not HOST:PORT with a port from 0 to 65535" },
        { """{ "listen": "example.com:25" }""", [], "smtpd: listen: 'example.com:25' does not start with an IP address (IPv6 in brackets), '*' or 'localhost'" },
        { """{ "recipients": ["nobody"] }""", [], "smtpd: recipients: 'nobody' is neither user@domain nor @domain" },
        { """{ "cert": "/nonexistent/server.pem" }""", [], "smtpd: cert: cannot read '/nonexistent/server.pem':" },
        { """{ "ca": ["/nonexistent/ca.pem"] }""", [], "smtpd: ca: cannot read '/nonexistent/ca.pem':" },
        { """{ "users": { "alice": "" } }""", [], "smtpd: users:alice: expected a non-empty password" },
        { """{ "size": 1 """, [], "smtpd: config: '{config}' is not a valid JSON settings file:" },
        { "", ["--config", "/nonexistent/smtpd.json"], "smtpd: config: cannot read '/nonexistent/smtpd.json':" },
        { "", ["--size"], "smtpd: command line: --size has no value" },
        { """{ "store": "/proc/version/mail" }""", [], "smtpd: store: cannot use '/proc/version/mail':" },
        { """{ "maxClients": -1 }""", [], "smtpd: Limits must not be negative" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Bad_setting_is_one_line_on_stderr_and_exit_status_2(string configFile, string[] args, string error)
    {
        string folder = ServerProcess.NewFolder();
        string config = Path.Combine(folder, "bad.json");
        if (configFile.Length > 0)
        {
            await File.WriteAllTextAsync(config, configFile);
            args = configFile.Contains("listen", StringComparison.Ordinal) ? ["--config", config, .. args] : ["--config", config, "--listen", "127.0.0.1:0", .. args];
        }

        (int exitCode, string stdout, string stderr) = await ServerProcess.RunToExitAsync(args, folder);
        Assert.Equal(2, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(error.Replace("{config}", config, StringComparison.Ordinal), line);
        Assert.DoesNotContain("Listening", stdout);
    }

    [Fact]
    public async Task Port_in_use_is_one_line_on_stderr_and_exit_status_2()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        string address = taken.LocalEndPoint!.ToString()!;

        (int exitCode, string stdout, string stderr) = await ServerProcess.RunToExitAsync(["--listen", address], ServerProcess.NewFolder());
        Assert.Equal(2, exitCode);
        Assert.Equal($"smtpd: Cannot listen on {address}: Address already in use", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.DoesNotContain("Listening", stdout);
    }
}
