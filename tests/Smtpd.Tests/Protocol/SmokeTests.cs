namespace Smtpd.Tests.Protocol;

public class SmokeTests
{
    [Fact]
    public async Task Transcript_A_defaults()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.Equal(["250-mx.test Nice to meet you, [127.0.0.1]", "250-PIPELINING", "250-8BITMIME", "250-SMTPUTF8", "250-AUTH LOGIN PLAIN", "250 STARTTLS"], ehlo.Lines);
        Assert.Equal("250 mx.test Nice to meet you, [127.0.0.1]", (await client.CommandAsync("HELO x")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal("250 Flushed", (await client.CommandAsync("RSET")).Line);
        Assert.Equal("214 See https://tools.ietf.org/html/rfc5321 for details", (await client.CommandAsync("HELP")).Line);
        Assert.Equal("501 Error: Syntax: VRFY address", (await client.CommandAsync("VRFY")).Line);
        Assert.Equal("252 Try to send something. No promises though", (await client.CommandAsync("VRFY a")).Line);
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("FOO")).Line);
        Assert.Equal("530 Error: authentication Required", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Whole_transaction_delivers_the_unstuffed_message()
    {
        string? body = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, session, ct) =>
            {
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, ct);
                body = System.Text.Encoding.UTF8.GetString(copy.ToArray());
                return SmtpResult.Accept();
            };
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("250 Accepted", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("250 Accepted", (await client.CommandAsync("RCPT TO:<r@b.c>")).Line);
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", (await client.CommandAsync("DATA")).Line);
        await client.SendAsync("Subject: t\r\n\r\n..leading\r\n.x\r\nline\r\n.\r\n");
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal("Subject: t\r\n\r\n.leading\r\n.x\r\nline\r\n", body);
    }
}
