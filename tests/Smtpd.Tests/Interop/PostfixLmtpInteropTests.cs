namespace Smtpd.Tests.Interop;

/// <summary>
/// Matrix row: a private Postfix (Debian) whose LMTP client delivers to Smtpd in LMTP mode (<c>default_transport =
/// lmtp:inet:…</c>), with TLS and SASL as the cell says; and one connection reused for several messages, which Postfix
/// resets with RSET before it caches the connection and before each next transaction.
/// </summary>
public sealed class PostfixLmtpInteropTests
{
    private static Task<PostfixInstance> StartPostfixAsync(InteropServer server, InteropTransport transport, bool auth, params string[] more) =>
        PostfixInstance.StartAsync(
            [$"default_transport = lmtp:inet:[127.0.0.1]:{server.Port}", .. PostfixClientSettings.For("lmtp", transport, auth), .. more],
            PostfixClientSettings.Files);

    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Postfix_delivers_over_LMTP(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport, lmtp: true);
        await using PostfixInstance postfix = await StartPostfixAsync(server, transport, auth);
        byte[] raw = InteropMessage.Create($"postfix lmtp {transport} auth={auth}");
        ReceivedMessage message = await PostfixSubmission.SubmitAndAssertDeliveredAsync(postfix, server, raw, auth);

        Assert.StartsWith("LMTP", message.TransmissionType);
        Assert.Contains(server.Commands, c => c.StartsWith("LHLO ", StringComparison.Ordinal));
    }

    /// <summary>
    /// Four messages over one LMTP connection in every cell. Postfix caches the connection (scache) between deliveries;
    /// a TLS connection can only be cached through tlsproxy(8), which <c>lmtp_tls_connection_reuse</c> turns on.
    /// </summary>
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Postfix_reuses_one_LMTP_connection_for_several_messages_with_RSET_between_them(InteropTransport transport, bool auth)
    {
        const int count = 4;
        await using InteropServer server = await InteropServer.StartAsync(transport, lmtp: true);
        string[] reuse = ["lmtp_destination_concurrency_limit = 1", "lmtp_connection_cache_destinations = static:all"];
        if (transport != InteropTransport.Plain)
        {
            // tlsproxy's client role takes its settings from tlsproxy_client_*, which default to the smtp_tls_*
            // values (none here): without these lmtp logs 'private/tlsproxy service role "client" is not available',
            // tlsproxy (3.7.11) dies with signal 11 and every delivery is deferred ("Cannot start TLS: handshake
            // failure"). tlsproxy still warns "'cache_type=smtp' != (client) 'cache_type=lmtp'" (its own client
            // settings always name the smtp cache) and then uses the lmtp client's settings.
            reuse =
            [
                .. reuse, "lmtp_tls_connection_reuse = yes", "tlsproxy_client_security_level = $lmtp_tls_security_level",
                "tlsproxy_client_CAfile = $lmtp_tls_CAfile", "tlsproxy_client_loglevel = $lmtp_tls_loglevel",
                "tlsproxy_client_loglevel_parameter = lmtp_tls_loglevel",
            ];
        }

        await using PostfixInstance postfix = await StartPostfixAsync(server, transport, auth, reuse);
        byte[][] messages = Enumerable.Range(1, count).Select(i => InteropMessage.Create($"postfix lmtp reuse {transport} auth={auth} {i}")).ToArray();
        await PostfixSubmission.SubmitAsync(postfix, messages);

        var received = new List<ReceivedMessage>();
        for (int i = 0; i < count; i++)
        {
            try
            {
                received.Add(await server.NextMessageAsync(TimeSpan.FromSeconds(30)));
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException(e.Message + "\npostfix log:\n" + postfix.Log);
            }
        }

        // Each message exactly once, byte for byte, whatever order the queue manager chose, with the cell's envelope,
        // TLS state and user.
        Assert.Equal(
            messages.Select(m => System.Text.Encoding.ASCII.GetString(m)).Order(StringComparer.Ordinal),
            received.Select(m => System.Text.Encoding.ASCII.GetString(InteropMessage.FromOriginalHeaders(m.Content))).Order(StringComparer.Ordinal));
        foreach (ReceivedMessage message in received)
        {
            server.AssertCell(message, auth);
            Assert.Equal(InteropMessage.Sender, message.MailFrom);
            Assert.Equal([InteropMessage.Recipient], message.Recipients);
            Assert.StartsWith("LMTP", message.TransmissionType);
        }

        // One connection: one session, one accepted connection, one LHLO (and one STARTTLS, one AUTH where the cell has them).
        string diagnostics = "server trace:\n" + server.Trace + "\npostfix log:\n" + postfix.Log;
        Assert.True(received.Select(m => m.SessionId).Distinct().Count() == 1, "more than one session:\n" + diagnostics);
        Assert.True(server.Connections == 1, diagnostics);
        IReadOnlyList<string> commands = server.Commands;
        Assert.True(commands.Count(c => c.StartsWith("LHLO ", StringComparison.Ordinal)) == (transport == InteropTransport.StartTls ? 2 : 1), diagnostics);
        if (transport == InteropTransport.StartTls)
        {
            int startTls = commands.ToList().IndexOf("STARTTLS");
            Assert.True(commands.Count(c => c == "STARTTLS") == 1, diagnostics);
            Assert.True(startTls >= 0 && startTls < commands.ToList().FindIndex(c => c.StartsWith("MAIL ", StringComparison.OrdinalIgnoreCase)), diagnostics);
        }

        PostfixClientSettings.AssertVerified(postfix, transport);
        if (transport != InteropTransport.Plain)
        {
            // Postfix's own account: the first delivery established the verified TLS connection, the others reused it.
            Assert.True(postfix.Log.Split('\n').Count(l => l.Contains("Verified TLS connection reused to", StringComparison.Ordinal)) == count - 1, diagnostics);
        }

        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.ScramSha256);
        }

        // The transactions follow one another on the connection, each after the RSET that ended the one before.
        string[] verbs = commands.Select(c => c.Split(' ', ':')[0].ToUpperInvariant()).Where(v => v is "MAIL" or "RSET" or "DATA").ToArray();
        string sequence = string.Join(" ", verbs);
        Assert.Equal(count, verbs.Count(v => v == "DATA"));
        Assert.True(verbs.Count(v => v == "RSET") >= count - 1, sequence + "\n" + diagnostics);
        Assert.Contains("DATA RSET MAIL", sequence);
        await Task.Delay(200);
        Assert.True(server.NoMoreMessages, "a message arrived twice");
        Assert.True(!postfix.Log.Contains("status=deferred", StringComparison.Ordinal), diagnostics);
    }
}
