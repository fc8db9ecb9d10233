using System.Net;
using System.Text.Json;
using MailKit.Security;

namespace Smtpd.Tests.Server;

/// <summary>The program's <c>listen</c> list: MX, implicit-TLS and submission endpoints from one process, each with its own settings.</summary>
public class ServerListenTests
{
    [Fact]
    public async Task One_process_serves_MX_implicit_TLS_and_submission_endpoints()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["listen"] = new object[]
            {
                "127.0.0.1:0",
                new Dictionary<string, object> { ["address"] = "127.0.0.1:0", ["secure"] = true, ["authOptional"] = false },
                new Dictionary<string, object> { ["address"] = "127.0.0.1:0", ["AuthOptional"] = false, ["hideSTARTTLS"] = false },
            },
            ["users"] = new Dictionary<string, string> { ["alice"] = "wonderland" },
            ["authOptional"] = true,
            ["disableReverseLookup"] = true,
        });
        await ServerProcess.WaitUntilAsync(() => server.EndPoints.Count == 3, "three endpoints are listening");
        IPEndPoint mx = server.EndPoints[0];
        IPEndPoint smtps = server.EndPoints[1];
        IPEndPoint submission = server.EndPoints[2];

        await SendAsync(mx, SecureSocketOptions.None, "mx@example.com", authenticate: false);
        await SendAsync(smtps, SecureSocketOptions.SslOnConnect, "smtps@example.com", authenticate: true);
        await SendAsync(submission, SecureSocketOptions.StartTls, "submission@example.com", authenticate: true);
        using (var anonymous = MailKitSender.NewClient())
        {
            await anonymous.ConnectAsync(submission.Address.ToString(), submission.Port, SecureSocketOptions.StartTls);
            await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => anonymous.SendAsync(MailKitSender.Message("anonymous@example.com")));
        }

        ProcessResult swaks = await ExternalProcess.RunAsync("swaks",
            ["--server", smtps.Address.ToString(), "--port", smtps.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tls-on-connect",
             "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland",
             "--helo", "client.example", "--from", "swaks@example.com", "--to", "rcpt@example.org"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(swaks.ExitCode == 0, swaks.Output);

        Dictionary<string, JsonElement> stored = Directory.GetFiles(server.Store, "*.json")
            .Select(path => JsonDocument.Parse(File.ReadAllText(path)).RootElement)
            .ToDictionary(json => json.GetProperty("mailFrom").GetProperty("address").GetString()!);
        Assert.Equal(["mx@example.com", "smtps@example.com", "submission@example.com", "swaks@example.com"], stored.Keys.Order());
        Assert.Equal((false, JsonValueKind.Null), (stored["mx@example.com"].GetProperty("secure").GetBoolean(), stored["mx@example.com"].GetProperty("user").ValueKind));
        Assert.All(["smtps@example.com", "submission@example.com", "swaks@example.com"], sender =>
        {
            Assert.True(stored[sender].GetProperty("secure").GetBoolean());
            Assert.Equal("alice", stored[sender].GetProperty("user").GetString());
        });
    }

    [Fact]
    public async Task A_listen_object_with_a_setting_no_endpoint_can_replace_is_one_line_on_stderr_and_exit_status_2()
    {
        string folder = ServerProcess.NewFolder();
        File.WriteAllText(Path.Combine(folder, "config.json"), """{ "listen": [ { "address": "127.0.0.1:0", "maxClients": 3 } ] }""");
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(["--config", Path.Combine(folder, "config.json")], folder);
        Assert.Equal(2, exitCode);
        Assert.Equal("smtpd: listen:0:maxClients: not a setting an endpoint can replace (secure, hideSTARTTLS, authOptional, allowInsecureAuth, authMethods, useProxy, useXClient, useXForward, lmtp, size)", stderr.Trim());
    }

    private static Task SendAsync(IPEndPoint endPoint, SecureSocketOptions security, string sender, bool authenticate) =>
        MailKitSender.SendAsync(endPoint, security, sender, authenticate ? ("alice", "wonderland") : null);
}
