namespace Smtpd.Tests.Server;

/// <summary>The server program's defaults and defence settings (server-program.md, "Defences"; issue 12).</summary>
public class ServerDefenceTests
{
    [Fact]
    public async Task Postmaster_is_accepted_without_a_domain_and_at_served_domains_even_with_recipients()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["recipients"] = new[] { "alice@example.org", "@example.com" },
            ["hideENHANCEDSTATUSCODES"] = false,
        });
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.net>")).Code);
        Assert.Equal("250 2.1.5 Accepted", (await client.CommandAsync("RCPT TO:<Postmaster>")).Line);
        Assert.Equal("250 2.1.5 Accepted", (await client.CommandAsync("RCPT TO:<postmaster@example.org>")).Line);
        Assert.Equal("550 5.1.1 Error: unknown recipient <postmaster@example.net>", (await client.CommandAsync("RCPT TO:<postmaster@example.net>")).Line);
        Assert.Equal("550 5.1.1 Error: unknown recipient <bob@example.org>", (await client.CommandAsync("RCPT TO:<bob@example.org>")).Line);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: abuse report\r\n\r\nhi\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal(["Postmaster", "postmaster@example.org"], stored.Envelope.GetProperty("rcptTo").EnumerateArray().Select(r => r.GetProperty("address").GetString()));
    }

    [Fact]
    public async Task Lmtp_answers_every_accepted_RCPT_even_for_a_repeated_address()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["lmtp"] = true, ["disableReverseLookup"] = true });
        await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
        Assert.Equal(250, (await client.CommandAsync("LHLO lmtp.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<a@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<A@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: lmtp\r\n\r\nhi\r\n.\r\n");
        var replies = new List<Reply> { await client.ReadReplyAsync(), await client.ReadReplyAsync(), await client.ReadReplyAsync() };
        Assert.All(replies, reply => Assert.Equal(250, reply.Code));

        // No fourth reply: the next command's answer comes next.
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal(2, stored.Envelope.GetProperty("rcptTo").GetArrayLength());
    }
}
