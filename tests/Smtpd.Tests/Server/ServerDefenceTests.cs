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

    [Fact]
    public async Task Size_defaults_to_25_MiB_and_an_explicit_0_means_no_limit()
    {
        await using (ServerProcess server = await ServerProcess.StartAsync())
        await using (RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            Assert.Contains((await client.CommandAsync("EHLO client.example")).Lines, line => line[4..] == "SIZE 26214400");
            Assert.Equal(552, (await client.CommandAsync("MAIL FROM:<s@example.com> SIZE=26214401")).Code);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com> SIZE=26214400")).Code);
        }

        await using (ServerProcess server = await ServerProcess.StartAsync(new() { ["size"] = 0 }))
        await using (RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            Assert.DoesNotContain((await client.CommandAsync("EHLO client.example")).Lines, line => line.Contains("SIZE", StringComparison.Ordinal));
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com> SIZE=999999999999")).Code);
        }

        (int exit, string help, _) = await ServerProcess.RunToExitAsync(["--help"], ServerProcess.NewFolder());
        Assert.Equal(0, exit);
        Assert.Matches(@"\n  --size N .*\[default: 26214400\]\n", help);
        Assert.Matches(@"\n  --maxRecipients N .*\[default: 1000\]\n", help);
    }

    [Fact]
    public async Task MaxRecipients_defaults_to_1000_and_an_explicit_0_means_no_limit()
    {
        foreach ((object? setting, int accepted) in new (object?, int)[] { (null, 1000), (0, 1001) })
        {
            Dictionary<string, object?> settings = setting is null ? [] : new() { ["maxRecipients"] = setting };
            await using ServerProcess server = await ServerProcess.StartAsync(settings);
            await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
            Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com>")).Code);
            await client.SendAsync(string.Concat(Enumerable.Range(0, 1001).Select(i => $"RCPT TO:<r{i}@example.org>\r\n")));
            var codes = new List<int>();
            for (int i = 0; i < 1001; i++)
            {
                codes.Add((await client.ReadReplyAsync()).Code);
            }

            Assert.Equal(accepted, codes.Count(code => code == 250));
            if (accepted == 1000)
            {
                Assert.Equal(452, codes[^1]);
            }
        }
    }

    [Fact]
    public async Task Bare_line_endings_are_normalized_by_default_and_rejected_when_told()
    {
        const string Smuggling = "Subject: one\r\n\r\nfirst\n.\r\nMAIL FROM:<evil@x.example>\r\n\r.\rsecond\r\n.\r\n";
        await using (ServerProcess server = await ServerProcess.StartAsync())
        await using (RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            await OpenTransactionAsync(client);
            await client.SendAsync(Smuggling);
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
            Assert.Equal("Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<evil@x.example>\r\n\r\n.\r\nsecond\r\n", System.Text.Encoding.Latin1.GetString(StoredMessage.ReadSingle(server.Store).Body));
        }

        await using (ServerProcess server = await ServerProcess.StartAsync(new() { ["bareLineEndings"] = "reject", ["hideENHANCEDSTATUSCODES"] = false }))
        await using (RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            await OpenTransactionAsync(client);
            await client.SendAsync(Smuggling);
            Assert.Equal("550 5.5.2 Error: bare <CR> or <LF> in the message, lines must end with <CR><LF>", (await client.ReadReplyAsync()).Line);
            Assert.Empty(server.StoreEntries());
            Assert.Empty(server.TemporaryFiles());
            await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Contains("refused (550)", StringComparison.Ordinal), "the message line is logged");
        }
    }

    [Fact]
    public async Task One_address_holds_half_of_maxClients_by_default_and_maxConnectionsPerClient_sets_it()
    {
        foreach ((Dictionary<string, object?> settings, int allowed) in new (Dictionary<string, object?>, int)[]
        {
            (new() { ["maxClients"] = 4 }, 2),
            (new() { ["maxConnectionsPerClient"] = 1 }, 1),
            (new() { ["maxClients"] = 4, ["maxConnectionsPerClient"] = 0 }, 4),
        })
        {
            settings["hideENHANCEDSTATUSCODES"] = false;
            await using ServerProcess server = await ServerProcess.StartAsync(settings);
            var clients = new List<RawClient>();
            try
            {
                for (int i = 0; i < allowed; i++)
                {
                    clients.Add(await ServerStoreTests.ConnectAndGreetAsync(server));
                }

                if (allowed < 4)
                {
                    await using RawClient refused = await RawClient.ConnectAsync(server.EndPoint);
                    Assert.Matches(@"^421 4\.7\.0 \S+ Error: too many connections from 127\.0\.0\.1$", (await refused.ReadReplyAsync()).Line);
                }
            }
            finally
            {
                foreach (RawClient client in clients)
                {
                    await client.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task Auth_failures_per_address_are_settings_and_every_failure_is_logged_whatever_logger_says()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["users"] = new Dictionary<string, string> { ["alice"] = "secret" },
            ["allowInsecureAuth"] = true,
            ["logger"] = false,
            ["maxAuthFailuresPerClient"] = 2,
            ["authFailureWindow"] = 60000,
            ["authFailureDelay"] = 0,
        });
        for (int i = 0; i < 2; i++)
        {
            await using RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server);
            Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
            Assert.Equal(535, (await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice\0wrong-guess"u8))).Code);
        }

        await using (RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
            Assert.Equal(454, (await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice\0secret"u8))).Code);
        }

        await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Split('\n').Count(line => line.Contains("warn:", StringComparison.Ordinal) && line.Contains("Authentication failed for 127.0.0.1 as alice with PLAIN", StringComparison.Ordinal)) == 2, "both failures are logged");
        Assert.DoesNotContain("wrong-guess", server.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// The defence settings under the names server-program.md fixes (scripts depend on them), with their units and the
    /// program's defaults: <c>authFailureWindow</c> is milliseconds, as every time of the program.
    /// </summary>
    [Fact]
    public async Task Help_names_the_defence_settings_with_their_units_and_defaults()
    {
        (int exit, string help, _) = await ServerProcess.RunToExitAsync(["--help"], ServerProcess.NewFolder());
        Assert.Equal(0, exit);
        Assert.Matches(@"\n  --maxConnectionsPerClient N .*\[default: half of maxClients, or of the connections the descriptor limit allows\]\n", help);
        Assert.Matches(@"\n  --maxAuthFailuresPerClient N .*\[default: 10\]\n", help);
        Assert.Matches(@"\n  --authFailureWindow MS .*\[default: 300000\]\n", help);
        Assert.Matches(@"\n  --bareLineEndings Accept\|Normalize\|Reject .*\[default: Normalize\]\n", help);
    }

    private static async Task OpenTransactionAsync(RawClient client)
    {
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
    }
}
