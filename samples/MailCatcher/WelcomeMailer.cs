using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace MailCatcher;

/// <summary>The code under test: sends the welcome mail, retrying after a temporary (4xx) refusal.</summary>
public sealed class WelcomeMailer(string host, int port, int attempts = 3, TimeSpan? pause = null)
{
    public async Task SendWelcomeAsync(string name, string address, CancellationToken cancellationToken = default)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Example", "welcome@example.com"));
        message.To.Add(new MailboxAddress(name, address));
        message.Subject = $"Welcome, {name}";
        message.Body = new TextPart("plain") { Text = $"Hello {name}, your account is ready." };

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var client = new SmtpClient();
                await client.ConnectAsync(host, port, SecureSocketOptions.None, cancellationToken);
                await client.SendAsync(message, cancellationToken);
                await client.DisconnectAsync(true, cancellationToken);
                return;
            }
            catch (SmtpCommandException ex) when ((int)ex.StatusCode is >= 400 and < 500 && attempt < attempts)
            {
                await Task.Delay(pause ?? TimeSpan.FromSeconds(1), cancellationToken);   // a temporary failure: try again
            }
        }
    }
}
