namespace Smtpd.Tests.Server;

/// <summary>The built program's proxy settings (<c>useProxy</c>, <c>useXClient</c>, <c>ignoredHosts</c>).</summary>
public class ServerProxyTests
{
    [Fact]
    public async Task UseProxy_stores_the_announced_client_address()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["useProxy"] = new[] { "127.0.0.1" },
            ["disableReverseLookup"] = true,
        });
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.SendAsync("PROXY TCP4 198.51.100.22 203.0.113.7 35646 25\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: proxied\r\n\r\nhello\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal("198.51.100.22", stored.Envelope.GetProperty("remoteAddress").GetString());
        Assert.Contains("[198.51.100.22]", stored.Trace);
    }

    [Fact]
    public async Task UseXClient_true_offers_XCLIENT_and_a_bad_list_entry_is_a_configuration_error()
    {
        await using (ServerProcess server = await ServerProcess.StartAsync(new() { ["useXClient"] = true, ["useXForward"] = "127.0.0.0/8" }))
        await using (var client = await RawClient.ConnectAsync(server.EndPoint))
        {
            await client.ReadReplyAsync();
            Reply ehlo = await client.CommandAsync("EHLO x");
            Assert.Contains(ehlo.Lines, l => l[4..].StartsWith("XCLIENT ", StringComparison.Ordinal));
            Assert.Contains(ehlo.Lines, l => l[4..].StartsWith("XFORWARD ", StringComparison.Ordinal));
        }

        string folder = ServerProcess.NewFolder();
        File.WriteAllText(Path.Combine(folder, "bad.json"), """{ "listen": "127.0.0.1:0", "useProxy": ["10.0.0.0/99"] }""");
        (int exitCode, _, string stderr) = await ServerProcess.RunToExitAsync(["--config", Path.Combine(folder, "bad.json")], folder);
        Assert.NotEqual(0, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("UseProxy", line);
    }
}
