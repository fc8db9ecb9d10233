namespace Smtpd.Tests.Auth;

/// <summary>The lenient base64 decoder, the result type, and the XCLIENT entry point for the proxy work.</summary>
public class AuthUnitTests
{
    [Theory]
    [InlineData("AAAA", "000000")]
    [InlineData("QQ", "41")]
    [InlineData("QQ==", "41")]
    [InlineData("Q Q = =", "41")]
    [InlineData("QQ=QQ", "41")]
    [InlineData("Q", "")]
    [InlineData("=", "")]
    [InlineData("*", "")]
    [InlineData("", "")]
    [InlineData("-_-_", "fbffbf")]
    [InlineData("+/+/", "fbffbf")]
    [InlineData("dXNl\r\ncg==", "75736572")]
    [InlineData("\u00e9QUJD", "414243")]
    public void Lenient_base64_decodes_as_node(string text, string hex) =>
        Assert.Equal(hex, Convert.ToHexStringLower(LenientBase64.Decode(text)));

    [Fact]
    public void Lenient_base64_matches_the_strict_decoder_on_valid_input()
    {
        var random = new Random(7);
        for (int length = 0; length < 50; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(data, LenientBase64.Decode(Convert.ToBase64String(data)));
        }
    }

    [Fact]
    public void Results_validate_their_arguments()
    {
        Assert.Throws<ArgumentNullException>(() => SmtpAuthResult.Success(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => SmtpAuthResult.Failure(250, "ok"));
        Assert.Throws<ArgumentException>(() => SmtpAuthResult.Failure(535, "no", "4.7.0"));
        Assert.Throws<ArgumentNullException>(() => SmtpAuthResult.Scram(null!, "u"));
        SmtpAuthResult failure = SmtpAuthResult.Failure(535, "Nope", "5.7.1");
        Assert.Equal((false, 535, "Nope", "5.7.1"), (failure.IsSuccess, failure.Code, failure.Message, failure.EnhancedCode));
        Assert.Equal("""{"status":"401","schemes":"bearer","scope":"x"}""", SmtpAuthResult.OAuthFailure("401", "x", "bearer").OAuthError);
    }

    private static async Task<SmtpAuthResult> XClientAsync(Action<SmtpServerOptions> configure, string username)
    {
        await using var session = Core.ProtocolHarness.Create(configure);
        return await session.Protocol.Handlers.AuthAsync(new SmtpAuthRequest(SmtpAuthMethods.XClient, username));
    }

    [Fact]
    public async Task Xclient_login_asks_the_handler_with_method_xclient_and_no_secret()
    {
        SmtpAuthRequest? seen = null;
        SmtpAuthResult result = await XClientAsync(o => o.OnAuth = (auth, session, _) =>
        {
            seen = auth;
            return ValueTask.FromResult(SmtpAuthResult.Success(new { auth.Username, session.RemoteAddress }));
        }, "proxied");
        Assert.True(result.IsSuccess);
        Assert.Equal(("XCLIENT", "proxied", null, null), (seen!.Method, seen.Username, seen.Password, seen.AccessToken));
        Assert.False(seen.ValidatePassword("anything"));
    }

    [Fact]
    public async Task Xclient_login_without_a_handler_is_unhandled()
    {
        SmtpAuthResult result = await XClientAsync(_ => { }, "proxied");
        Assert.True(result.IsUnhandled);
        Assert.False(result.IsSuccess);
    }

    [Fact]
    public async Task Xclient_login_handler_errors_become_failures()
    {
        SmtpAuthResult refused = await XClientAsync(o => o.OnAuth = (_, _, _) => throw new SmtpException("Unknown user"), "x");
        Assert.Equal((535, "Unknown user"), (refused.Code, refused.Message));
        SmtpAuthResult broken = await XClientAsync(o => o.OnAuth = (_, _, _) => throw new InvalidOperationException("bug"), "x");
        Assert.Equal((451, "4.3.0"), (broken.Code, broken.EnhancedCode));
        SmtpAuthResult listed = await XClientAsync(o => o.OnAuth = new SmtpPasswordAuthenticator([new("x", "pw")]).AuthenticateAsync, "x");
        Assert.Equal("x", listed.User);
    }

    [Fact]
    public void Request_text_never_shows_the_secret()
    {
        var request = new SmtpAuthRequest(SmtpAuthMethods.Plain, "user", password: "hunter2");
        Assert.Equal("PLAIN user", request.ToString());
        Assert.DoesNotContain("hunter2", request.ToString(), StringComparison.Ordinal);
    }
}
