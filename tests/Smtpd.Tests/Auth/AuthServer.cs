using System.Text;

namespace Smtpd.Tests.Auth;

/// <summary>Servers and tokens shared by the AUTH tests.</summary>
internal static class AuthServer
{
    public const string User = "user";
    public const string Password = "pass";

    public static readonly string[] AllMechanisms =
        [SmtpAuthMethods.Plain, SmtpAuthMethods.Login, SmtpAuthMethods.CramMd5, SmtpAuthMethods.XOAuth2, SmtpAuthMethods.OAuthBearer, SmtpAuthMethods.ScramSha256];

    /// <summary>base64("\0user\0pass"), the TOKEN of the reference's protocol tests.</summary>
    public static readonly string PlainToken = Base64("\0user\0pass");

    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static string FromBase64(string text) => Encoding.UTF8.GetString(Convert.FromBase64String(text));

    /// <summary>
    /// The reference's AUTH option set (PLAIN, LOGIN, cleartext allowed, one user) plus <paramref name="configure"/>.
    /// AllowInsecureAuth keeps these tests about the mechanisms once STARTTLS is offered by default.
    /// </summary>
    public static Task<TestServer> StartAsync(Action<SmtpServerOptions>? configure = null) => TestServer.StartAsync(o =>
    {
        o.AuthMethods = [SmtpAuthMethods.Plain, SmtpAuthMethods.Login];
        o.AllowInsecureAuth = true;
        o.OnAuth = new SmtpPasswordAuthenticator(new Dictionary<string, string> { [User] = Password }).AuthenticateAsync;
        configure?.Invoke(o);
    });

    /// <summary>Connects, says EHLO and returns the client ready for AUTH.</summary>
    public static async Task<RawClient> ConnectAndGreetAsync(this TestServer server)
    {
        RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example.com")).Code);
        return client;
    }
}
