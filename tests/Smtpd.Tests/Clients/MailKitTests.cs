using MailKit.Net.Smtp;
using MimeKit;

namespace Smtpd.Tests.Clients;

/// <summary>Ordinary flows with a real client (MailKit).</summary>
public class MailKitTests
{
    private static MimeMessage Message(string subject, string body, params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.com"));
        foreach (string address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    [Fact]
    public async Task Sends_several_messages_on_one_connection_with_pipelining()
    {
        var received = new List<(string From, string[] To, string Body)>();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideEnhancedStatusCodes = false;
            o.Size = 1 << 20;
            o.OnData = async (stream, session, ct) =>
            {
                using var reader = new StreamReader(stream);
                string text = await reader.ReadToEndAsync(ct);
                lock (received)
                {
                    received.Add((session.Envelope.MailFrom!.Address, session.Envelope.RcptTo.Select(r => r.Address).ToArray(), text));
                }

                return SmtpResult.Accept("queued as " + session.Transaction);
            };
        });
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.EnhancedStatusCodes));
        Assert.Equal(1 << 20, (int)client.MaxSize);
        for (int i = 0; i < 3; i++)
        {
            string response = await client.SendAsync(Message($"Message {i}", "Line one\r\n.starts with a dot\r\n", "a@example.com", "b@example.org"));
            Assert.Equal($"2.6.0 queued as {i + 1}", response);
        }

        await client.DisconnectAsync(true);
        Assert.Equal(3, received.Count);
        Assert.All(received, r => Assert.Equal(["a@example.com", "b@example.org"], r.To));
        Assert.Contains("\r\n.starts with a dot\r\n", received[0].Body);
        Assert.Contains("Subject: Message 2", received[2].Body);
    }

    [Fact]
    public async Task Refused_recipients_are_reported_to_the_client()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnRcptTo = (a, s, ct) => new(a.Address.StartsWith("deny", StringComparison.Ordinal) ? SmtpResult.Reject(550, "No such user") : SmtpResult.Accept());
        });
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("x", "y", "deny@example.com")));
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, error.StatusCode);
        Assert.Equal("deny@example.com", error.Mailbox!.Address);
        await client.SendAsync(Message("x", "y", "ok@example.com"));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Refused_message_is_an_error_for_the_client()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, s, ct) =>
            {
                using var reader = new StreamReader(stream);
                return (await reader.ReadToEndAsync(ct)).Contains("deny") ? SmtpResult.Reject(554, "Content refused") : SmtpResult.Accept();
            };
        });
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("x", "please deny this", "a@example.com")));
        Assert.Equal(SmtpErrorCode.MessageNotAccepted, error.ErrorCode);
        await client.SendAsync(Message("x", "fine", "a@example.com"));
    }

    [Fact]
    public async Task Large_message_streams_through()
    {
        long size = 0;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, s, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                size = stream.ByteLength;
                return default;
            };
        });
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        await client.SendAsync(Message("big", string.Concat(Enumerable.Repeat(new string('z', 998) + "\r\n", 5000)), "a@example.com"));
        Assert.True(size > 5_000_000);
    }
}
