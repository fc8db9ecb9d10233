using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Auth;

/// <summary>Where AUTH and STARTTLS meet: the user is dropped by STARTTLS, AUTH appears once TLS is up.</summary>
public class AuthOverTlsTests
{
    [Fact]
    public async Task STARTTLS_drops_the_authenticated_user()
    {
        object? userAtMail = "unset";
        string? typeAtMail = null;
        await using var server = await AuthServer.StartAsync(o => o.OnMailFrom = (a, s, ct) =>
        {
            userAtMail = s.User;
            typeAtMail = s.TransmissionType;
            return default;
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + AuthServer.PlainToken)).Code);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains(ehlo.Lines, l => l[4..].StartsWith("AUTH ", StringComparison.Ordinal));
        Assert.Equal(530, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + AuthServer.PlainToken)).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal("user", userAtMail);
        Assert.Equal("ESMTPSA", typeAtMail);
    }

    [Fact]
    public async Task HideAuthBeforeTls_advertises_AUTH_only_inside_TLS()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideAuthBeforeTls = true;
            o.OnAuth = new SmtpPasswordAuthenticator(new Dictionary<string, string> { [AuthServer.User] = AuthServer.Password }).AuthenticateAsync;
        });
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Reply plain = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain(plain.Lines, l => l[4..].StartsWith("AUTH", StringComparison.Ordinal));
        Assert.Contains(plain.Lines, l => l[4..] == "STARTTLS");
        Assert.Equal("538 Error: Must issue a STARTTLS command first", (await client.CommandAsync("AUTH PLAIN " + AuthServer.PlainToken)).Line);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.HandshakeAsync();
        Reply secure = await client.CommandAsync("EHLO x");
        Assert.Contains(secure.Lines, l => l[4..] == "AUTH LOGIN PLAIN");
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + AuthServer.PlainToken)).Code);
    }
}
