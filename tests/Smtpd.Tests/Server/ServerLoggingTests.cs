using System.Text.Json;

namespace Smtpd.Tests.Server;

/// <summary>The operator's log: a line per message, the Logging section (levels, JSON), time zones, the certificate warning.</summary>
public class ServerLoggingTests
{
    private static async Task SendAsync(ServerProcess server, string body)
    {
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        await ServerStoreTests.StartDataAsync(client);
        await client.SendAsync(body + "\r\n.\r\n");
        await client.ReadReplyAsync();
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
    }

    [Fact]
    public async Task One_information_line_per_accepted_and_per_refused_message()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["size"] = 200 });
        await SendAsync(server, "Subject: small\r\n\r\nhello");
        await SendAsync(server, "Subject: big\r\n\r\n" + new string('x', 300));

        string id = Path.GetFileNameWithoutExtension(server.StoreEntries()[0]);
        await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Contains("refused (552)"), "the refusal is logged");
        string[] lines = server.StandardOutput.Split('\n').Where(l => l.Contains("info: Smtpd.Server.StoreSmtpServer[5] Message ")).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"Message {id} accepted \(250\): from <sender@example\.com> by \S+ \[127\.0\.0\.1\], 1 recipients, 25 bytes$", lines[0]);
        Assert.Matches(@"Message \w+-1 refused \(552\): from <sender@example\.com> by \S+ \[127\.0\.0\.1\], 1 recipients, 318 bytes$", lines[1]);
    }

    [Fact]
    public async Task Timestamps_carry_the_time_zone_and_the_certificate_warning_shows_without_logger()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["logger"] = false }, environment: new() { ["TZ"] = "Asia/Kolkata" });
        string[] lines = server.StandardOutput.Split('\n');
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+05:30 warn: Smtpd\[5\] No TLS certificate is configured: using a self-signed certificate", lines[0]);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+05:30 info: Smtpd\.Server\[1\] Listening on ", lines[1]);
    }

    [Fact]
    public async Task Logging_section_sets_levels_and_the_json_formatter()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["Logging"] = new Dictionary<string, object>
            {
                ["LogLevel"] = new Dictionary<string, string> { ["Smtpd.Server.StoreSmtpServer"] = "Warning" },
                ["Console"] = new Dictionary<string, string> { ["FormatterName"] = "json" },
            },
        });
        await SendAsync(server, "Subject: quiet\r\n\r\nhello");
        await server.SignalAsync("TERM");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));

        JsonElement[] entries = server.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToArray();
        Assert.Equal(["Smtpd", "Smtpd.Server", "Smtpd.Server", "Smtpd.Server"], entries.Select(e => e.GetProperty("Category").GetString()));
        Assert.All(entries, e => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", e.GetProperty("Timestamp").GetString()));
        Assert.Equal("Warning", entries[0].GetProperty("LogLevel").GetString());
        Assert.StartsWith("Listening on 127.0.0.1:", entries[1].GetProperty("Message").GetString());
        Assert.DoesNotContain(entries, e => e.GetProperty("Message").GetString()!.StartsWith("Message ", StringComparison.Ordinal));
    }
}
