using MailKit.Net.Smtp;
using Smtpd.Testing;
using Xunit;

namespace MailCatcher;

public sealed class WelcomeMailerTests
{
    #region catch-a-message
    [Fact]
    public async Task Sends_the_welcome_mail()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        var mailer = new WelcomeMailer(smtp.Host, smtp.Port);

        await mailer.SendWelcomeAsync("Alice", "alice@example.com");

        ReceivedMessage mail = await smtp.WaitForMessageAsync(m => m.To.Contains("alice@example.com"), TimeSpan.FromSeconds(5));
        mail.AssertFrom("welcome@example.com")
            .AssertSubject("Welcome, Alice")
            .AssertBodyContains("your account is ready");
    }
    #endregion

    #region retry
    [Fact]
    public async Task Retries_after_a_temporary_failure()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        smtp.Fail(SmtpStage.Data, times: 2);                     // 451 4.3.0 twice, then accepted
        var mailer = new WelcomeMailer(smtp.Host, smtp.Port, attempts: 3, pause: TimeSpan.FromMilliseconds(10));

        await mailer.SendWelcomeAsync("Bob", "bob@example.com");

        Assert.Equal(2, smtp.RefusedMessages);
        (await smtp.WaitForMessageAsync()).AssertTo("bob@example.com");
    }

    [Fact]
    public async Task Gives_up_on_an_unknown_recipient()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        smtp.RejectRecipient("carol@example.com");               // 550 5.1.1: permanent, no retry
        var mailer = new WelcomeMailer(smtp.Host, smtp.Port);

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => mailer.SendWelcomeAsync("Carol", "carol@example.com"));

        Assert.Equal(SmtpStatusCode.MailboxUnavailable, refused.StatusCode);
        Assert.Empty(smtp.Messages);
    }
    #endregion
}
