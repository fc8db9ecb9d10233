using System.Net.Mail;
using MailKit.Net.Smtp;
using MimeKit;
using Smtpd.Testing;
using MailKitClient = MailKit.Net.Smtp.SmtpClient;
using NetMailClient = System.Net.Mail.SmtpClient;

namespace Smtpd.Tests.Testing;

/// <summary>Smtpd.Testing's SmtpTestServer, driven by the two clients .NET code sends mail with: MailKit and System.Net.Mail.</summary>
public class SmtpTestServerTests
{
    private static MimeMessage Mime(string to, string subject = "Welcome", string text = "Hello Alice")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@example.com"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        var body = new BodyBuilder { TextBody = text, HtmlBody = $"<p>{text}</p>" };
        body.Attachments.Add("invoice.pdf", "%PDF-1.4"u8.ToArray());
        message.Body = body.ToMessageBody();
        return message;
    }

    private static async Task SendWithMailKitAsync(SmtpTestServer smtp, MimeMessage message)
    {
        using var client = new MailKitClient();
        await client.ConnectAsync(smtp.Host, smtp.Port, MailKit.Security.SecureSocketOptions.None);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }

    private static NetMailClient NetMail(SmtpTestServer smtp) => new(smtp.Host, smtp.Port) { DeliveryMethod = SmtpDeliveryMethod.Network };

    [Fact]
    public async Task MailKit_message_is_collected_parsed_and_asserted()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        await SendWithMailKitAsync(smtp, Mime("alice@example.com"));

        ReceivedMessage mail = await smtp.WaitForMessageAsync(m => m.To.Contains("alice@example.com"));
        mail.AssertFrom("app@example.com")
            .AssertTo("ALICE@example.com")
            .AssertSubject("Welcome")
            .AssertBodyContains("Hello Alice")
            .AssertHeader("From", "app@example.com")
            .AssertAttachment("invoice.pdf");
        Assert.Equal("<p>Hello Alice</p>", mail.HtmlBody?.Trim());
        Assert.False(mail.Secure);
        Assert.Same(mail, Assert.Single(smtp.Messages));
    }

    [Fact]
    public async Task System_Net_Mail_message_is_collected()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        using NetMailClient client = NetMail(smtp);
        Task<ReceivedMessage> waiting = smtp.WaitForMessageAsync(m => m.Subject == "Report");
        await client.SendMailAsync(new MailMessage("reports@example.com", "bob@example.com, carol@example.com", "Report", "All green."));

        ReceivedMessage mail = await waiting;
        mail.AssertFrom("reports@example.com").AssertTo("carol@example.com", "bob@example.com").AssertBodyContains("All green.");
        Assert.Equal(["bob@example.com", "carol@example.com"], mail.To);
    }

    [Fact]
    public async Task Rejected_recipient_is_refused_at_RCPT_with_MailKit_and_System_Net_Mail()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        smtp.RejectRecipient("nobody@example.com");

        SmtpCommandException refused = await Assert.ThrowsAsync<SmtpCommandException>(() => SendWithMailKitAsync(smtp, Mime("nobody@example.com")));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
        Assert.Equal(MailKit.Net.Smtp.SmtpStatusCode.MailboxUnavailable, refused.StatusCode);
        Assert.Equal("5.1.1 No such user here", refused.Message);

        using NetMailClient client = NetMail(smtp);
        SmtpFailedRecipientException failed = await Assert.ThrowsAsync<SmtpFailedRecipientException>(
            () => client.SendMailAsync(new MailMessage("app@example.com", "nobody@example.com", "x", "y")));
        Assert.Equal("<nobody@example.com>", failed.FailedRecipient);
        Assert.Empty(smtp.Messages);
    }

    [Fact]
    public async Task Temporary_failures_let_a_retrying_sender_succeed_on_its_third_attempt()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        smtp.Fail(SmtpStage.Data, times: 2);

        // A sender with a simple retry policy: try again after a 4xx, up to 5 attempts.
        int attempts = 0;
        while (true)
        {
            attempts++;
            try
            {
                await SendWithMailKitAsync(smtp, Mime("alice@example.com", subject: "retried"));
                break;
            }
            catch (SmtpCommandException ex) when ((int)ex.StatusCode / 100 == 4 && attempts < 5)
            {
                Assert.Equal("4.3.0 Try again later", ex.Message);
            }
        }

        Assert.Equal(3, attempts);
        Assert.Equal(2, smtp.RefusedMessages);
        (await smtp.WaitForMessageAsync()).AssertSubject("retried");
        Assert.Single(smtp.Messages);
    }

    [Fact]
    public async Task Failure_at_MAIL_FROM_and_at_connect_reach_System_Net_Mail()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        smtp.Fail(SmtpStage.MailFrom, code: 452, message: "Insufficient system storage", enhancedCode: "4.3.1");
        using NetMailClient client = NetMail(smtp);
        System.Net.Mail.SmtpException full = await Assert.ThrowsAsync<System.Net.Mail.SmtpException>(() => client.SendMailAsync(new MailMessage("app@example.com", "bob@example.com", "x", "y")));
        Assert.Equal(System.Net.Mail.SmtpStatusCode.InsufficientStorage, full.StatusCode);

        smtp.Fail(SmtpStage.Connect, code: 421, message: "Too busy", enhancedCode: "4.7.0");
        using var refused = new MailKitClient();
        SmtpCommandException greeting = await Assert.ThrowsAsync<SmtpCommandException>(() => refused.ConnectAsync(smtp.Host, smtp.Port, MailKit.Security.SecureSocketOptions.None));
        Assert.Equal(MailKit.Net.Smtp.SmtpStatusCode.ServiceNotAvailable, greeting.StatusCode);

        smtp.ClearFaults();
        await client.SendMailAsync(new MailMessage("app@example.com", "bob@example.com", "after", "the faults"));
        (await smtp.WaitForMessageAsync()).AssertSubject("after");
    }

    [Fact]
    public async Task Delay_makes_a_client_with_a_short_timeout_give_up()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        smtp.Delay(SmtpStage.MailFrom, TimeSpan.FromSeconds(5), times: 1);
        using var client = new MailKitClient { Timeout = 300 };
        await client.ConnectAsync(smtp.Host, smtp.Port, MailKit.Security.SecureSocketOptions.None);
        await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(Mime("alice@example.com")));
        Assert.Empty(smtp.Messages);

        // The delay was used once: the next client gets through at once.
        await SendWithMailKitAsync(smtp, Mime("alice@example.com", subject: "on time"));
        (await smtp.WaitForMessageAsync(m => m.Subject == "on time", TimeSpan.FromSeconds(5))).AssertTo("alice@example.com");
    }

    [Fact]
    public async Task Waiting_in_vain_and_wrong_expectations_fail_with_what_arrived()
    {
        await using SmtpTestServer smtp = await SmtpTestServer.StartAsync();
        await SendWithMailKitAsync(smtp, Mime("alice@example.com", subject: "Hi"));

        SmtpAssertionException none = await Assert.ThrowsAsync<SmtpAssertionException>(
            () => smtp.WaitForMessageAsync(m => m.Subject == "Bye", TimeSpan.FromMilliseconds(200)));
        Assert.Equal("No matching message arrived within 0.2 s. Received 1: <app@example.com> to [<alice@example.com>], subject \"Hi\".", none.Message);

        ReceivedMessage mail = smtp.Messages[0];
        Assert.Equal(
            "Expected subject \"Bye\", but the message <app@example.com> to [<alice@example.com>], subject \"Hi\" has \"Hi\".",
            Assert.Throws<SmtpAssertionException>(() => mail.AssertSubject("Bye")).Message);
        Assert.Throws<SmtpAssertionException>(() => mail.AssertTo("alice@example.com", "bob@example.com"));
        Assert.Throws<SmtpAssertionException>(() => mail.AssertFrom("other@example.com"));
        Assert.Throws<SmtpAssertionException>(() => mail.AssertBodyContains("Goodbye"));
        Assert.Throws<SmtpAssertionException>(() => mail.AssertAttachment("missing.pdf"));
        smtp.ClearMessages();
        Assert.Empty(smtp.Messages);
    }
}
