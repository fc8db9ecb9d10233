using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MimeKit;

namespace Smtpd.Tests.Proxy;

/// <summary>
/// A private Postfix instance (Debian package <c>postfix</c>; its own configuration, queue and log in a temporary
/// folder, listening on a free loopback port only, never the system instance) relays to Smtpd with
/// <c>smtp_send_xforward_command = yes</c>, as a content filter set-up does.
/// </summary>
public sealed class PostfixXForwardTests
{
    private static readonly IPAddress ClientAddress = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Postfix_relaying_with_XFORWARD_hands_over_the_original_client()
    {
        var recorder = new SessionRecorder();
        await using var server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseXForward = new[] { "127.0.0.1" };
        });
        await using var postfix = await PostfixInstance.StartAsync($"relayhost = [127.0.0.1]:{server.Port}", "smtp_send_xforward_command = yes");

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.com"));
        message.To.Add(MailboxAddress.Parse("rcpt@example.net"));
        message.Subject = "through postfix";
        message.Body = new TextPart("plain") { Text = "hello" };
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(new IPEndPoint(ClientAddress, 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, postfix.Port));
            using var client = new SmtpClient { Timeout = 10000, LocalDomain = "client.example.test" };
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await client.ConnectAsync(socket, "localhost", postfix.Port, MailKit.Security.SecureSocketOptions.None, cts.Token);
            await client.SendAsync(message, cts.Token);
            await client.DisconnectAsync(true, cts.Token);
        }

        SessionSnapshot session;
        try
        {
            session = await recorder.FirstData.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException("Postfix did not relay the message; its log:\n" + postfix.Log);
        }

        Assert.Equal(ClientAddress, session.RemoteAddress);
        Assert.Equal("[127.0.0.2]", session.ClientHostname);
        Assert.Equal("127.0.0.2", session.XForward["ADDR"]);
        Assert.Equal("127.0.0.1", session.XForward["ADDR:DEFAULT"]);
        Assert.Equal("ESMTP", session.XForward["PROTO"]);
        Assert.Equal("client.example.test", session.XForward["HELO"]);
        Assert.Equal("client.example.test", session.HostNameAppearsAs);
    }
}
