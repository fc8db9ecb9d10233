namespace Smtpd.Tests.Auth;

/// <summary>OAUTHBEARER (RFC 7628) byte by byte.</summary>
public class OAuthBearerTests
{
    private static string Message(string gs2Header, string token) => AuthServer.Base64($"{gs2Header}\u0001host=mx.test\u0001port=25\u0001auth=Bearer {token}\u0001\u0001");

    private static Task<TestServer> StartAsync(Func<SmtpAuthRequest, SmtpAuthResult>? handler = null, List<SmtpAuthRequest>? requests = null) =>
        AuthServer.StartAsync(o =>
        {
            o.AuthMethods = ["OAUTHBEARER"];
            if (handler is not null)
            {
                o.OnAuth = (auth, _, _) =>
                {
                    requests?.Add(auth);
                    return ValueTask.FromResult(handler(auth));
                };
            }
        });

    [Fact]
    public async Task Token_and_authorization_identity_reach_the_handler()
    {
        var requests = new List<SmtpAuthRequest>();
        await using TestServer server = await StartAsync(a => a.ValidatePassword("tok") ? SmtpAuthResult.Success(a.Username) : SmtpAuthResult.Failure(), requests);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("235 Authentication successful", (await client.CommandAsync($"AUTH OAUTHBEARER {Message("n,a=me=2Cyou@example.com,", "tok")}")).Line);
        SmtpAuthRequest request = Assert.Single(requests);
        Assert.Equal(("OAUTHBEARER", "me,you@example.com", "me,you@example.com", "tok"), (request.Method, request.Username, request.AuthorizationIdentity, request.AccessToken));
        Assert.Null(request.Password);
    }

    [Fact]
    public async Task Without_an_authorization_identity_the_user_name_is_empty()
    {
        var requests = new List<SmtpAuthRequest>();
        await using TestServer server = await StartAsync(a => SmtpAuthResult.Success("token owner"), requests);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 ", (await client.CommandAsync("AUTH OAUTHBEARER")).Line);
        Assert.Equal(235, (await client.CommandAsync(Message("y,,", "tok"))).Code);
        Assert.Equal(("", null), (requests[0].Username, requests[0].AuthorizationIdentity));
    }

    [Fact]
    public async Task Refused_token_gets_the_rfc_7628_error_challenge_then_535()
    {
        await using TestServer server = await StartAsync(_ => SmtpAuthResult.Failure());
        await using RawClient client = await server.ConnectAndGreetAsync();
        Reply challenge = await client.CommandAsync($"AUTH OAUTHBEARER {Message("n,a=user,", "bad")}");
        Assert.Equal(334, challenge.Code);
        Assert.Equal("""{"status":"invalid_token"}""", AuthServer.FromBase64(challenge.Line[4..]));
        Assert.Equal("535 Error: Username and Password not accepted", (await client.CommandAsync("AQ==")).Line);
    }

    [Fact]
    public async Task Application_error_details_are_sent_as_json()
    {
        await using TestServer server = await StartAsync(_ => SmtpAuthResult.OAuthFailure("invalid_token", scope: "mail", openIdConfiguration: "https://id.example/.well-known/openid-configuration"));
        await using RawClient client = await server.ConnectAndGreetAsync();
        Reply challenge = await client.CommandAsync($"AUTH OAUTHBEARER {Message("n,a=user,", "bad")}");
        Assert.Equal("""{"status":"invalid_token","scope":"mail","openid-configuration":"https://id.example/.well-known/openid-configuration"}""", AuthServer.FromBase64(challenge.Line[4..]));
        Assert.Equal(535, (await client.CommandAsync("AQ==")).Code);
    }

    [Fact]
    public async Task Failure_with_a_code_is_sent_directly()
    {
        await using TestServer server = await StartAsync(_ => SmtpAuthResult.Failure(454, "Token service down"));
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("454 Token service down", (await client.CommandAsync($"AUTH OAUTHBEARER {Message("n,a=user,", "tok")}")).Line);
    }

    [Theory]
    [InlineData("p=tls-unique,a=user,\u0001auth=Bearer tok\u0001\u0001")]
    [InlineData("n,a=user,\u0001host=x\u0001\u0001")]
    [InlineData("n,a=user,\u0001auth=Basic tok\u0001\u0001")]
    [InlineData("n,a=user,auth=Bearer tok\u0001\u0001")]
    [InlineData("n,a=us=er,\u0001auth=Bearer tok\u0001\u0001")]
    [InlineData("n,a=us\u0002er,\u0001auth=Bearer tok\u0001\u0001")]
    [InlineData("n,b=user,\u0001auth=Bearer tok\u0001\u0001")]
    [InlineData("\u0001")]
    public async Task Malformed_messages_are_invalid_userdata(string message)
    {
        await using TestServer server = await StartAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync($"AUTH OAUTHBEARER {AuthServer.Base64(message)}")).Line);
    }

    [Fact]
    public async Task Syntax_and_cancellation()
    {
        await using TestServer server = await StartAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("501 Error: syntax: AUTH OAUTHBEARER token", (await client.CommandAsync("AUTH OAUTHBEARER a b")).Line);
        Assert.Equal("334 ", (await client.CommandAsync("AUTH OAUTHBEARER")).Line);
        Assert.Equal("501 Authentication aborted", (await client.CommandAsync("*")).Line);
    }

    [Fact]
    public async Task Default_handler_refuses_with_535()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthMethods = ["OAUTHBEARER", "SCRAM-SHA-256", "CRAM-MD5"];
            o.OnAuth = null;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("535 Authentication not implemented", (await client.CommandAsync($"AUTH OAUTHBEARER {Message("n,a=user,", "tok")}")).Line);
        Assert.Equal("535 Authentication not implemented", (await client.CommandAsync($"AUTH SCRAM-SHA-256 {AuthServer.Base64("n,,n=user,r=abc")}")).Line);
        await client.CommandAsync("AUTH CRAM-MD5");
        Assert.Equal("535 Authentication not implemented", (await client.CommandAsync(AuthServer.Base64("user 0123"))).Line);
    }
}
