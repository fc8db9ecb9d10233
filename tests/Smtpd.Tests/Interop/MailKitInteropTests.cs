using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Interop;

/// <summary>Matrix row: MailKit's <c>SmtpClient</c> (the .NET client users have), certificate checked against the test CA.</summary>
public sealed class MailKitInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task MailKit_delivers(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        byte[] raw = InteropMessage.Create($"mailkit {transport} auth={auth}");
        MimeMessage message = await MimeMessage.LoadAsync(new MemoryStream(raw));

        using var client = new SmtpClient { Timeout = 10000, LocalDomain = "client.example" };
        client.ServerCertificateValidationCallback = InteropTls.ValidateWithTestCa;
        SecureSocketOptions options = transport switch
        {
            InteropTransport.StartTls => SecureSocketOptions.StartTls,
            InteropTransport.ImplicitTls => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.None,
        };
        await client.ConnectAsync("localhost", server.Port, options);
        if (auth)
        {
            await client.AuthenticateAsync(InteropServer.User, InteropServer.Password);
        }

        await client.SendAsync(message, MailboxAddress.Parse(InteropMessage.Sender), [MailboxAddress.Parse(InteropMessage.Recipient)]);
        await client.DisconnectAsync(true);

        await server.AssertDeliveredAsync(raw, auth);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.ScramSha256);
        }
    }
}
