using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Smtpd.Tests.Auth;

/// <summary>MailKit, a real client, against every mechanism it speaks, served by <see cref="SmtpPasswordAuthenticator"/>.</summary>
public class MailKitAuthTests
{
    public static TheoryData<string> Mechanisms => new(AuthServer.AllMechanisms);

    private static SaslMechanism Create(string mechanism, string user, string secret) => mechanism switch
    {
        SmtpAuthMethods.Plain => new SaslMechanismPlain(user, secret),
        SmtpAuthMethods.Login => new SaslMechanismLogin(user, secret),
        SmtpAuthMethods.CramMd5 => new SaslMechanismCramMd5(user, secret),
        SmtpAuthMethods.XOAuth2 => new SaslMechanismOAuth2(user, secret),
        SmtpAuthMethods.OAuthBearer => new SaslMechanismOAuthBearer(user, secret),
        SmtpAuthMethods.ScramSha256 => new SaslMechanismScramSha256(user, secret),
        _ => throw new ArgumentOutOfRangeException(nameof(mechanism)),
    };

    private static Task<TestServer> StartAsync(Action<SmtpSession>? onMail = null) => AuthServer.StartAsync(o =>
    {
        o.AuthMethods = [.. AuthServer.AllMechanisms];
        o.OnMailFrom = (address, session, ct) =>
        {
            onMail?.Invoke(session);
            return ValueTask.FromResult(SmtpResult.Accept());
        };
    });

    private static MimeMessage Message()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.com"));
        message.To.Add(MailboxAddress.Parse("rcpt@example.com"));
        message.Subject = "auth";
        message.Body = new TextPart("plain") { Text = "hello" };
        return message;
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Mechanism_succeeds_and_the_session_is_authenticated(string mechanism)
    {
        object? user = null;
        string? transmissionType = null;
        await using TestServer server = await StartAsync(session =>
        {
            user = session.User;
            transmissionType = session.TransmissionType;
        });
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        Assert.Contains(mechanism, client.AuthenticationMechanisms);
        await client.AuthenticateAsync(Create(mechanism, AuthServer.User, AuthServer.Password));
        Assert.True(client.IsAuthenticated);
        await client.SendAsync(Message());
        await client.DisconnectAsync(true);
        Assert.Equal(AuthServer.User, user);
        Assert.Equal("ESMTPA", transmissionType);
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Mechanism_fails_with_wrong_credentials_and_the_connection_goes_on(string mechanism)
    {
        await using TestServer server = await StartAsync();
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        var failure = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(Create(mechanism, AuthServer.User, "wrong")));
        Assert.Contains("535", failure.Message + (failure.InnerException?.Message ?? ""), StringComparison.Ordinal);
        Assert.False(client.IsAuthenticated);
        await client.NoOpAsync();
        await client.AuthenticateAsync(Create(mechanism, AuthServer.User, AuthServer.Password));
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Mechanism_fails_for_an_unknown_user(string mechanism)
    {
        await using TestServer server = await StartAsync();
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(Create(mechanism, "nobody", AuthServer.Password)));
        await client.NoOpAsync();
        await client.DisconnectAsync(true);
    }
}
