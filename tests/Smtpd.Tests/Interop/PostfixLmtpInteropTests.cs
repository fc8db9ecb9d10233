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

    [Fact]
    public async Task Postfix_reuses_one_LMTP_connection_for_several_messages_with_RSET_between_them()
    {
        const int count = 4;
        await using InteropServer server = await InteropServer.StartAsync(InteropTransport.Plain, lmtp: true);
        await using PostfixInstance postfix = await StartPostfixAsync(server, InteropTransport.Plain, auth: false,
            "lmtp_destination_concurrency_limit = 1", "lmtp_connection_cache_destinations = static:all");
        byte[][] messages = Enumerable.Range(1, count).Select(i => InteropMessage.Create($"postfix lmtp reuse {i}")).ToArray();
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

        // Each message exactly once, byte for byte, whatever order the queue manager chose.
        Assert.Equal(
            messages.Select(m => System.Text.Encoding.ASCII.GetString(m)).Order(StringComparer.Ordinal),
            received.Select(m => System.Text.Encoding.ASCII.GetString(InteropMessage.FromOriginalHeaders(m.Content))).Order(StringComparer.Ordinal));
        string diagnostics = "server trace:\n" + server.Trace + "\npostfix log:\n" + postfix.Log;
        Assert.True(received.Select(m => m.SessionId).Distinct().Count() == 1, "more than one session:\n" + diagnostics);
        Assert.True(server.Connections == 1, diagnostics);

        // The transactions follow one another on the connection, each after the RSET that ended the one before.
        string[] verbs = server.Commands.Select(c => c.Split(' ', ':')[0].ToUpperInvariant()).Where(v => v is "MAIL" or "RSET" or "DATA").ToArray();
        string sequence = string.Join(" ", verbs);
        Assert.Equal(count, verbs.Count(v => v == "DATA"));
        Assert.True(verbs.Count(v => v == "RSET") >= count - 1, sequence + "\n" + diagnostics);
        Assert.Contains("DATA RSET MAIL", sequence);
        await Task.Delay(200);
        Assert.True(server.NoMoreMessages, "a message arrived twice");
        Assert.True(!postfix.Log.Contains("status=deferred", StringComparison.Ordinal), diagnostics);
    }
}
