using System.Text;
using System.Text.RegularExpressions;

namespace Smtpd.Tests.Auth;

/// <summary>Every reply text of §11 of the reference, byte for byte (transcript E with enhanced codes on, and the rest).</summary>
public partial class AuthReplyTextTests
{
    /// <summary>Transcript E's server: PLAIN, LOGIN, CRAM-MD5, XOAUTH2; a handler that throws "Invalid credentials" and answers XOAUTH2 with data.</summary>
    private static Task<TestServer> StartTranscriptServerAsync() => TestServer.StartAsync(o =>
    {
        o.AuthMethods = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"];
        o.AllowInsecureAuth = true;
        o.HideEnhancedStatusCodes = false;
        o.OnAuth = (auth, session, ct) =>
        {
            if (auth.Method == SmtpAuthMethods.XOAuth2)
            {
                return ValueTask.FromResult(SmtpAuthResult.OAuthFailure("401", scope: "x", schemes: "bearer"));
            }

            return auth.Username == "user" && auth.ValidatePassword("pass")
                ? ValueTask.FromResult(SmtpAuthResult.Success("user"))
                : throw new SmtpException("Invalid credentials");
        };
    });

    [Fact]
    public async Task Transcript_E_plain_failure_abort_and_syntax()
    {
        await using TestServer server = await StartTranscriptServerAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 ", (await client.CommandAsync("AUTH PLAIN")).Line);
        Assert.Equal("535 5.7.8 Invalid credentials", (await client.CommandAsync(AuthServer.Base64("\0user\0wrong"))).Line);
        Assert.Equal("334 ", (await client.CommandAsync("AUTH PLAIN")).Line);
        Assert.Equal("501 5.5.4 Authentication aborted", (await client.CommandAsync("*")).Line);
        Assert.Equal("501 5.5.4 Error: syntax: AUTH PLAIN token", (await client.CommandAsync("AUTH PLAIN a b")).Line);
        Assert.Equal("501 5.5.4 Error: invalid userdata", (await client.CommandAsync("AUTH PLAIN AAAA")).Line);
        Assert.Equal("504 5.5.4 Error: Unrecognized authentication type", (await client.CommandAsync("AUTH FOO")).Line);
        Assert.Equal("504 5.5.4 Error: Unrecognized authentication type", (await client.CommandAsync("AUTH")).Line);
    }

    [Fact]
    public async Task Transcript_E_login_success_then_no_identity_changes()
    {
        await using TestServer server = await StartTranscriptServerAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 VXNlcm5hbWU6", (await client.CommandAsync("AUTH LOGIN")).Line);
        Assert.Equal("334 UGFzc3dvcmQ6", (await client.CommandAsync("dXNlcg==")).Line);
        Assert.Equal("235 2.7.0 Authentication successful", (await client.CommandAsync("cGFzcw==")).Line);
        Assert.Equal("503 5.5.1 Error: No identity changes permitted", (await client.CommandAsync("AUTH LOGIN")).Line);
    }

    [Fact]
    public async Task Transcript_E_login_empty_username_cram_syntax_challenge_and_xoauth2_failure()
    {
        await using TestServer server = await StartTranscriptServerAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 VXNlcm5hbWU6", (await client.CommandAsync("AUTH LOGIN")).Line);
        Assert.Equal("501 5.5.4 Error: missing username", (await client.CommandAsync("")).Line);
        Assert.Equal("501 5.5.4 Error: syntax: AUTH CRAM-MD5", (await client.CommandAsync("AUTH CRAM-MD5 x")).Line);

        Reply challenge = await client.CommandAsync("AUTH CRAM-MD5");
        Assert.StartsWith("334 ", challenge.Line);
        Assert.Matches(CramChallenge(), AuthServer.FromBase64(challenge.Line[4..]));
        Assert.Equal("501 5.5.4 Authentication aborted", (await client.CommandAsync("*")).Line);

        string badToken = AuthServer.Base64("user=user\u0001auth=Bearer bad\u0001\u0001");
        Assert.Equal("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJ4In0=", (await client.CommandAsync($"AUTH XOAUTH2 {badToken}")).Line);
        Assert.Equal("535 5.7.8 Error: Username and Password not accepted", (await client.CommandAsync("")).Line);
    }

    [Fact]
    public async Task Cram_md5_challenge_is_fresh_for_every_attempt_and_names_the_server()
    {
        await using TestServer server = await StartTranscriptServerAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        string first = AuthServer.FromBase64((await client.CommandAsync("AUTH CRAM-MD5")).Line[4..]);
        await client.CommandAsync("*");
        string second = AuthServer.FromBase64((await client.CommandAsync("AUTH CRAM-MD5")).Line[4..]);
        Assert.NotEqual(first, second);
        Match match = CramChallenge().Match(second);
        Assert.True(match.Success, second);
        long seconds = long.Parse(match.Groups[1].Value);
        Assert.InRange(seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
    }

    [Fact]
    public async Task Plain_texts_without_enhanced_codes()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = null);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 ", (await client.CommandAsync("AUTH PLAIN")).Line);
        Assert.Equal("501 Authentication aborted", (await client.CommandAsync("*")).Line);
        Assert.Equal("501 Error: syntax: AUTH LOGIN", (await client.CommandAsync("AUTH LOGIN a b")).Line);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync("AUTH PLAIN =")).Line);
        Assert.Equal("535 Authentication not implemented", (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
    }

    [Fact]
    public async Task Refusal_without_text_is_credentials_invalid()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = (_, _, _) => ValueTask.FromResult(SmtpAuthResult.Failure()));
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("535 Error: Authentication credentials invalid", (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
    }

    [Theory]
    [InlineData(454, "Temp failure", null, "454 4.7.0 Temp failure")]
    [InlineData(553, "Go away", null, "553 5.1.3 Go away")]
    [InlineData(535, "Plain error", "5.7.8", "535 5.7.8 Plain error")]
    [InlineData(535, "Locked", "5.7.1", "535 5.7.1 Locked")]
    public async Task Handler_failure_code_and_text_are_the_reply(int code, string text, string? enhanced, string expected)
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.HideEnhancedStatusCodes = false;
            o.OnAuth = (_, _, _) => ValueTask.FromResult(SmtpAuthResult.Failure(code, text, enhanced));
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(expected, (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
    }

    [Fact]
    public async Task Handler_exception_with_code_is_the_reply_and_other_exceptions_are_451()
    {
        int calls = 0;
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = (_, _, _) =>
            ++calls == 1 ? throw new SmtpException(454, "Try later") : throw new InvalidOperationException("bug"));
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("454 Try later", (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
        Assert.Equal("451 Error: internal server error", (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Handler_421_closes_the_connection()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = (_, _, _) => ValueTask.FromResult(SmtpAuthResult.Failure(421, "Go away")));
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("421 Go away", (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Xoauth2_default_handler_sends_the_reference_challenge()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthMethods = ["XOAUTH2"];
            o.OnAuth = null;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Reply challenge = await client.CommandAsync($"AUTH XOAUTH2 {AuthServer.Base64("user=user\u0001auth=Bearer t\u0001\u0001")}");
        Assert.Equal(334, challenge.Code);
        Assert.Equal("""{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}""", AuthServer.FromBase64(challenge.Line[4..]));
        Assert.Equal("535 Error: Username and Password not accepted", (await client.CommandAsync("")).Line);
    }

    [Fact]
    public async Task Xoauth2_bare_failure_sends_an_empty_json_challenge()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthMethods = ["XOAUTH2"];
            o.OnAuth = (_, _, _) => ValueTask.FromResult(SmtpAuthResult.Failure());
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 e30=", (await client.CommandAsync($"AUTH XOAUTH2 {AuthServer.Base64("user=user\u0001auth=Bearer t\u0001\u0001")}")).Line);
        Assert.Equal("535 Error: Username and Password not accepted", (await client.CommandAsync("anything")).Line);
    }

    [Fact]
    public async Task Xoauth2_syntax_continuation_abort_and_invalid_userdata()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.AuthMethods = ["XOAUTH2"]);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("501 Error: syntax: AUTH XOAUTH2 token", (await client.CommandAsync("AUTH XOAUTH2 a b")).Line);
        Assert.Equal("334 ", (await client.CommandAsync("AUTH XOAUTH2")).Line);
        Assert.Equal("501 Authentication aborted", (await client.CommandAsync("*")).Line);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync($"AUTH XOAUTH2 {AuthServer.Base64("auth=Bearer t\u0001\u0001")}")).Line);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync($"AUTH XOAUTH2 {AuthServer.Base64("user=u\u0001auth=Basic t\u0001\u0001")}")).Line);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync($"AUTH XOAUTH2 {AuthServer.Base64("user=u\tx\u0001auth=Bearer t\u0001\u0001")}")).Line);
    }

    [Fact]
    public async Task Xoauth2_token_reaches_the_handler_and_succeeds()
    {
        SmtpAuthRequest? seen = null;
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthMethods = ["XOAUTH2"];
            o.OnAuth = (auth, _, _) =>
            {
                seen = auth;
                return ValueTask.FromResult(auth.ValidatePassword("ya29.token") ? SmtpAuthResult.Success(auth.Username) : SmtpAuthResult.Failure());
            };
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 ", (await client.CommandAsync("AUTH XOAUTH2")).Line);
        Assert.Equal("235 Authentication successful", (await client.CommandAsync(AuthServer.Base64("USER=me@example.com\u0001Auth=bearer  ya29.token\u0001\u0001"))).Line);
        Assert.Equal("XOAUTH2", seen!.Method);
        Assert.Equal("me@example.com", seen.Username);
        Assert.Equal("ya29.token", seen.AccessToken);
        Assert.Null(seen.Password);
    }

    [Fact]
    public async Task Xoauth2_handler_exception_replies_directly_without_a_challenge()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthMethods = ["XOAUTH2"];
            o.OnAuth = (_, _, _) => throw new SmtpException(535, "Token expired");
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("535 Token expired", (await client.CommandAsync($"AUTH XOAUTH2 {AuthServer.Base64("user=u\u0001auth=Bearer t\u0001\u0001")}")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Cram_md5_control_characters_in_the_username_are_invalid_userdata()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.AuthMethods = ["CRAM-MD5"]);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(334, (await client.CommandAsync("AUTH CRAM-MD5")).Code);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync(AuthServer.Base64("us\u0007er 0123456789abcdef0123456789abcdef"))).Line);
    }

    [GeneratedRegex(@"^<[0-9a-f]{32}\.(\d+)@mx\.test>$")]
    private static partial Regex CramChallenge();

    internal static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
