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

    /// <summary>
    /// Submits <paramref name="raw"/> and checks Postfix delivered it to <paramref name="server"/> as the cell says: the
    /// original bytes after Postfix's trace field, the certificate verified in TLS cells, SCRAM-SHA-256 with AUTH.
    /// </summary>
    public static async Task<ReceivedMessage> SubmitAndAssertDeliveredAsync(PostfixInstance postfix, InteropServer server, byte[] raw, bool auth)
    {
        await SubmitAsync(postfix, raw);
        ReceivedMessage message;
        try
        {
            message = await server.AssertDeliveredAsync(raw, auth, content: InteropMessage.FromOriginalHeaders);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\npostfix log:\n" + postfix.Log);
        }

        PostfixClientSettings.AssertVerified(postfix, server.Transport);
        if (auth)
        {
            // Cyrus SASL picks the strongest mechanism offered.
            server.AssertMechanism(SmtpAuthMethods.ScramSha256);
        }

        return message;
    }
}
