namespace Smtpd.Tests.Interop;

/// <summary>
/// An LMTP client that abandons a transaction with RSET after a recipient was accepted and then reuses the connection
/// (Postfix's LMTP client does this when DATA is refused on a cached connection; MailKit and smtplib when they give up
/// on a message) must get exactly one reply per recipient of the next transaction. Found while building the matrix:
/// RSET does not forget the accepted recipients' reply slots, so the next DATA is answered once per recipient of
/// both transactions and every later reply is out of step. The engine restructuring (issue 12's base) fixes it.
/// </summary>
public sealed class LmtpResetTests
{
    [Fact]
    public async Task After_RSET_the_next_DATA_gets_one_reply_per_recipient_of_its_own_transaction()
    {
        await using InteropServer server = await InteropServer.StartAsync(InteropTransport.Plain, lmtp: true);
        await using RawClient client = await server.Server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("LHLO client.example")).Code);
        Assert.Equal(250, (await client.CommandAsync($"MAIL FROM:<{InteropMessage.Sender}>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<abandoned@mx.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);

        Assert.Equal(250, (await client.CommandAsync($"MAIL FROM:<{InteropMessage.Sender}>")).Code);
        Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{InteropMessage.Recipient}>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Reply delivered = await client.CommandAsync("Subject: after RSET\r\n\r\nhello\r\n.");
        Assert.Equal(250, delivered.Code);

        // The next command's reply is its own, not a second delivery status.
        Reply noop = await client.CommandAsync("NOOP");
        Assert.Equal("250 OK", noop.Line);
        ReceivedMessage message = await server.NextMessageAsync();
        Assert.Equal([InteropMessage.Recipient], message.Recipients);
    }
}
