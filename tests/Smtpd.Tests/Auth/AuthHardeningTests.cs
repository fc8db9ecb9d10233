using Microsoft.Extensions.Logging;

namespace Smtpd.Tests.Auth;

/// <summary>Where Smtpd does better than the reference (issue point 4); each test fails on the reference's behaviour.</summary>
public class AuthHardeningTests
{
    private static readonly string Token = AuthServer.PlainToken;
    private static readonly string WrongToken = AuthServer.Base64("\0user\0wrong");

    [Fact]
    public async Task Third_failed_authentication_is_followed_by_421_and_a_close()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.HideEnhancedStatusCodes = false);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("535 5.7.8 Error: Authentication credentials invalid", (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Line);
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Code);
        Assert.Equal("535 5.7.8 Error: Authentication credentials invalid", (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Line);
        Assert.Equal("421 4.7.0 Error: too many failed authentication attempts", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Failures_of_every_mechanism_count_together()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.AuthMethods = ["PLAIN", "LOGIN", "CRAM-MD5"]);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Code);
        await client.CommandAsync("AUTH LOGIN dXNlcg==");
        Assert.Equal(535, (await client.CommandAsync(AuthServer.Base64("wrong2"))).Code);
        await client.CommandAsync("AUTH CRAM-MD5");
        Assert.Equal(535, (await client.CommandAsync(AuthServer.Base64("user 00000000000000000000000000000000"))).Code);
        Assert.Equal(421, (await client.ReadReplyAsync()).Code);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Failure_limit_is_configurable()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.MaxAuthFailures = 5);
        await using RawClient client = await server.ConnectAndGreetAsync();
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Code);
        }

        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Code);
        Assert.Equal("421 Error: too many failed authentication attempts", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Failure_limit_zero_disables_it()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.MaxAuthFailures = 0;
            o.MaxAuthFailuresPerClient = 0;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {WrongToken}")).Code);
        }

        Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
    }

    [Fact]
    public void Failure_limit_must_not_be_negative() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpServerOptions { MaxAuthFailures = -1 });

    [Fact]
    public async Task Aborts_syntax_errors_and_temporary_failures_do_not_count()
    {
        int calls = 0;
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = (auth, _, _) =>
            ValueTask.FromResult(++calls <= 3 ? SmtpAuthResult.Failure(454, "Try again later") : SmtpAuthResult.Success(auth.Username)));
        await using RawClient client = await server.ConnectAndGreetAsync();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(501, (await client.CommandAsync("AUTH PLAIN AAAA")).Code);
            await client.CommandAsync("AUTH LOGIN");
            Assert.Equal(501, (await client.CommandAsync("*")).Code);
            Assert.Equal(504, (await client.CommandAsync("AUTH FOO")).Code);
            Assert.Equal(454, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
        }

        Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
    }

    [Fact]
    public async Task A_new_connection_can_log_in_after_one_was_closed_for_failures()
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using (RawClient first = await server.ConnectAndGreetAsync())
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(535, (await first.CommandAsync($"AUTH PLAIN {WrongToken}")).Code);
            }

            Assert.Equal(421, (await first.ReadReplyAsync()).Code);
        }

        await using RawClient second = await server.ConnectAndGreetAsync();
        Assert.Equal(235, (await second.CommandAsync($"AUTH PLAIN {Token}")).Code);
    }

    [Fact]
    public async Task Every_failure_is_logged_with_the_client_address_and_no_secret_is_logged()
    {
        var logger = new ListLogger();
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.Logger = logger;
            o.AuthMethods = ["PLAIN", "LOGIN"];
        });
        await using (RawClient client = await server.ConnectAndGreetAsync())
        {
            Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {AuthServer.Base64("\0user\0s3cr3t-one")}")).Code);
            await client.CommandAsync("AUTH LOGIN");
            await client.CommandAsync(AuthServer.Base64("user"));
            Assert.Equal(535, (await client.CommandAsync(AuthServer.Base64("s3cr3t-two"))).Code);
            Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
            await client.CommandAsync("QUIT");
        }

        string[] failures = logger.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("Authentication failed", StringComparison.Ordinal)).Select(e => e.Message).ToArray();
        Assert.Equal(2, failures.Length);
        Assert.All(failures, f => Assert.Contains("127.0.0.1", f, StringComparison.Ordinal));
        Assert.Contains("PLAIN", failures[0], StringComparison.Ordinal);
        Assert.Contains("LOGIN", failures[1], StringComparison.Ordinal);
        Assert.Contains(logger.Entries, e => e.Message.Contains("authenticated as user with PLAIN", StringComparison.Ordinal));
        string[] secrets = ["s3cr3t", AuthServer.Base64("\0user\0s3cr3t-one"), AuthServer.Base64("s3cr3t-two"), Token, "cGFzcw=="];
        Assert.All(logger.Entries, e => Assert.DoesNotContain(secrets, s => e.Message.Contains(s, StringComparison.Ordinal)));
        Assert.Contains(logger.Entries, e => e.Message.Contains("/* secured */", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("AUTH  PLAIN {0}")]
    [InlineData("AUTH PLAIN\t{0}")]
    [InlineData("AUTH PLAIN {0} extra")]
    [InlineData("auth plain {0}")]
    public async Task Initial_responses_are_never_logged_however_the_command_is_spaced(string format)
    {
        var logger = new ListLogger();
        string token = AuthServer.Base64("\0user\0t0p-s3cret");
        await using TestServer server = await AuthServer.StartAsync(o => o.Logger = logger);
        await using (RawClient client = await server.ConnectAndGreetAsync())
        {
            await client.CommandAsync(string.Format(format, token));
            await client.CommandAsync("QUIT");
        }

        Assert.Contains(logger.Entries, e => e.Message.Contains("/* secured */", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Message.Contains(token, StringComparison.Ordinal) || e.Message.Contains("t0p-s3cret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, false, true, true)]
    [InlineData(false, true, true, false)]
    [InlineData(true, false, true, false)]
    [InlineData(false, false, false, false)]
    public void Starttls_first_rule(bool secure, bool allowInsecureAuth, bool startTlsUsable, bool refused) =>
        Assert.Equal(refused, AuthCommand.RequiresStartTlsBeforeAuth(secure, allowInsecureAuth, startTlsUsable));

    /// <summary>
    /// RFC 4954 §6: 538 with 5.7.11 (the reference sends 5.7.0), also when STARTTLS is hidden (the reference lets
    /// cleartext AUTH through). Whether STARTTLS works on this build is asked over the wire: once TLS is configured the
    /// refusal is checked; without TLS the connection cannot be secured and AUTH goes on.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cleartext_auth_gets_538_5_7_11_whenever_starttls_works(bool hideStartTls)
    {
        Action<SmtpServerOptions> configure = o =>
        {
            o.HideEnhancedStatusCodes = false;
            o.HideStartTls = hideStartTls;
            o.AllowInsecureAuth = false;
            o.OnAuth = new SmtpPasswordAuthenticator(new Dictionary<string, string> { ["user"] = "pass" }).AuthenticateAsync;
            o.AuthMethods = ["PLAIN"];
        };
        await using TestServer server = await TestServer.StartAsync(configure);
        bool startTlsWorks = await StartTlsWorksAsync(server);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Reply reply = await client.CommandAsync($"AUTH PLAIN {Token}");
        if (startTlsWorks)
        {
            Assert.Equal("538 5.7.11 Error: Must issue a STARTTLS command first", reply.Line);
        }
        else
        {
            Assert.Equal("235 2.7.0 Authentication successful", reply.Line);
        }
    }

    /// <summary>AllowInsecureAuth lifts the 538 rule; meaningful once STARTTLS works on the server (checked over the wire).</summary>
    [Fact]
    public async Task Allow_insecure_auth_lets_cleartext_auth_through_although_starttls_works()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.AllowInsecureAuth = true);
        bool startTlsWorks = await StartTlsWorksAsync(server);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Reply reply = await client.CommandAsync($"AUTH PLAIN {Token}");
        Assert.True(reply.Line == "235 Authentication successful", $"STARTTLS works: {startTlsWorks}; AUTH got: {reply.Line}");
    }

    /// <summary>The 538 reply itself (sent over the wire by the test above once TLS is configured): 5.7.11, not the reference's 5.7.0.</summary>
    [Theory]
    [InlineData(false, "538 5.7.11 Error: Must issue a STARTTLS command first")]
    [InlineData(true, "538 Error: Must issue a STARTTLS command first")]
    public void Starttls_first_reply_carries_5_7_11(bool hideEnhancedCodes, string expected)
    {
        var replies = new AuthReplyTable(new ReplyTable(TestServer.Defaults(o => o.HideEnhancedStatusCodes = hideEnhancedCodes)));
        Assert.Equal(expected + "\r\n", System.Text.Encoding.ASCII.GetString(replies.StartTlsFirst));
    }

    [Fact]
    public async Task Cleartext_auth_is_allowed_when_starttls_is_disabled()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AllowInsecureAuth = false;
            o.DisabledCommands = ["STARTTLS"];
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
    }

    [Fact]
    public async Task Hide_auth_before_tls_leaves_auth_out_of_ehlo_on_cleartext()
    {
        await using TestServer plain = await AuthServer.StartAsync();
        await using TestServer hidden = await AuthServer.StartAsync(o => o.HideAuthBeforeTls = true);
        await using RawClient shown = await plain.ConnectAsync();
        await using RawClient client = await hidden.ConnectAsync();
        Assert.Contains((await shown.CommandAsync("EHLO client.example.com")).Lines, l => l.EndsWith("AUTH PLAIN LOGIN", StringComparison.Ordinal));
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.Equal("530 Error: authentication Required", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
    }

    /// <summary>
    /// Constant time: a naive comparison returns at the first differing character, so a guess wrong in its first
    /// character is answered much sooner than one wrong only in its last. ValidatePassword takes the same time for both.
    /// </summary>
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("XOAUTH2")]
    public void Validate_password_takes_the_same_time_wherever_the_guess_differs(string method)
    {
        string secret = new('s', 1_000_000);
        SmtpAuthRequest Sent(string guess) => method == "PLAIN"
            ? new SmtpAuthRequest(SmtpAuthMethods.Plain, "user", password: guess)
            : new SmtpAuthRequest(SmtpAuthMethods.XOAuth2, "user", accessToken: guess);
        SmtpAuthRequest early = Sent("x" + secret[1..]);
        SmtpAuthRequest late = Sent(secret[..^1] + "x");
        Assert.False(early.ValidatePassword(secret));
        Assert.False(late.ValidatePassword(secret));
        Assert.True(Sent(secret).ValidatePassword(secret));
        double earlyTime = Timing.FastestMs(() => early.ValidatePassword(secret), runs: 15);
        double lateTime = Timing.FastestMs(() => late.ValidatePassword(secret), runs: 15);
        double ratio = Math.Max(earlyTime, lateTime) / Math.Min(earlyTime, lateTime);
        Assert.True(ratio < 3, $"early mismatch {earlyTime:F3} ms, late mismatch {lateTime:F3} ms");
    }

    /// <summary>Does STARTTLS answer 220 on this server (on a separate connection)?</summary>
    private static async Task<bool> StartTlsWorksAsync(TestServer server)
    {
        await using RawClient probe = await server.ConnectAndGreetAsync();
        return (await probe.CommandAsync("STARTTLS")).Code == 220;
    }
}
