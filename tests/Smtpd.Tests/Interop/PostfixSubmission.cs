using MailKit.Net.Smtp;
using MimeKit;

namespace Smtpd.Tests.Interop;

/// <summary>Hands messages to a private Postfix's smtpd (MailKit, one session), for Postfix to deliver to Smtpd.</summary>
public static class PostfixSubmission
{
    public static async Task SubmitAsync(PostfixInstance postfix, params byte[][] messages)
    {
        using var client = new SmtpClient { Timeout = 10000, LocalDomain = "client.example" };
        await client.ConnectAsync("127.0.0.1", postfix.Port, MailKit.Security.SecureSocketOptions.None);
        foreach (byte[] raw in messages)
        {
            MimeMessage message = await MimeMessage.LoadAsync(new MemoryStream(raw));
            await client.SendAsync(message, MailboxAddress.Parse(InteropMessage.Sender), [MailboxAddress.Parse(InteropMessage.Recipient)]);
        }

        await client.DisconnectAsync(true);
    }
}
