using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests;

/// <summary>Sends one small message with MailKit (the test certificate accepted), optionally authenticated.</summary>
public static class MailKitSender
{
    public static MimeMessage Message(string sender, string recipient = "rcpt@example.org")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(sender));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = "from MailKit";
        message.Body = new TextPart("plain") { Text = "Hello" };
        return message;
    }

    /// <summary>A client whose TLS accepts the server's (self-signed) certificate.</summary>
    public static SmtpClient NewClient() => new() { ServerCertificateValidationCallback = (_, _, _, _) => true };

    public static async Task SendAsync(IPEndPoint endPoint, SecureSocketOptions security, string sender, (string User, string Password)? credentials = null)
    {
        using SmtpClient client = NewClient();
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, security);
        if (credentials is var (user, password))
        {
            await client.AuthenticateAsync(user, password);
        }

        await client.SendAsync(Message(sender));
        await client.DisconnectAsync(quit: true);
    }
}
