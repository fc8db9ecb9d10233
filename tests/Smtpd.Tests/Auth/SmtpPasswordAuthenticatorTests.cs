using System.Diagnostics;

namespace Smtpd.Tests.Auth;

/// <summary>The credential helper: a user name → password map served to every mechanism.</summary>
public class SmtpPasswordAuthenticatorTests
{
    private readonly SmtpPasswordAuthenticator _users = new(new Dictionary<string, string> { ["alice"] = "wonderland", ["bob"] = "builder" });

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public void Password_mechanisms_check_the_password(string method)
    {
        Assert.Equal("alice", _users.Authenticate(new SmtpAuthRequest(method, "alice", password: "wonderland")).User);
        Assert.False(_users.Authenticate(new SmtpAuthRequest(method, "alice", password: "builder")).IsSuccess);
        Assert.False(_users.Authenticate(new SmtpAuthRequest(method, "carol", password: "wonderland")).IsSuccess);
    }

    [Theory]
    [InlineData("XOAUTH2")]
    [InlineData("OAUTHBEARER")]
    public void Token_mechanisms_take_the_password_as_the_token(string method)
    {
        Assert.True(_users.Authenticate(new SmtpAuthRequest(method, "bob", accessToken: "builder")).IsSuccess);
        SmtpAuthResult refused = _users.Authenticate(new SmtpAuthRequest(method, "bob", accessToken: "wonderland"));
        Assert.False(refused.IsSuccess);
        Assert.Equal(0, refused.Code);
    }

    [Fact]
    public void Cram_md5_checks_the_digest()
    {
        const string challenge = "<0123456789abcdef0123456789abcdef.1700000000@mx.test>";
        string digest = SmtpAuthRequest.CramMd5Digest("wonderland", challenge);
        Assert.Matches("^[0-9a-f]{32}$", digest);
        Assert.True(_users.Authenticate(new SmtpAuthRequest("CRAM-MD5", "alice", challenge: challenge, challengeResponse: digest)).IsSuccess);
        Assert.False(_users.Authenticate(new SmtpAuthRequest("CRAM-MD5", "bob", challenge: challenge, challengeResponse: digest)).IsSuccess);
    }

    [Fact]
    public void Rfc_2195_example_digest()
    {
        // RFC 2195 §2: user "tim", password "tanstaaftanstaaf".
        Assert.Equal("b913a602c7eda7a495b4e6e7334d3890", SmtpAuthRequest.CramMd5Digest("tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"));
    }

    [Fact]
    public void Scram_gets_credentials_derived_once_per_user_with_a_salt_per_user()
    {
        SmtpAuthResult first = _users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "alice"));
        SmtpAuthResult again = _users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "alice"));
        SmtpAuthResult other = _users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "bob"));
        ScramSha256Credentials credentials = first.ScramCredentials!;
        Assert.Equal("alice", first.User);
        Assert.False(first.IsSuccess);
        Assert.Same(credentials, again.ScramCredentials);
        Assert.Equal((4096, 16), (credentials.Iterations, credentials.Salt.Length));
        Assert.False(credentials.Salt.Span.SequenceEqual(other.ScramCredentials!.Salt.Span));
        ScramSha256Credentials expected = ScramSha256Credentials.Derive("wonderland", credentials.Salt.Span, 4096);
        Assert.True(expected.StoredKey.Span.SequenceEqual(credentials.StoredKey.Span));
    }

    [Fact]
    public void Scram_for_an_unknown_user_gets_stable_decoy_credentials_that_never_match()
    {
        ScramSha256Credentials a = _users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "carol")).ScramCredentials!;
        ScramSha256Credentials b = _users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "carol")).ScramCredentials!;
        ScramSha256Credentials c = _users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "dave")).ScramCredentials!;
        Assert.True(a.Salt.Span.SequenceEqual(b.Salt.Span));
        Assert.False(a.Salt.Span.SequenceEqual(c.Salt.Span));
        Assert.Equal(4096, a.Iterations);
        Assert.False(ScramSha256Credentials.Derive("wonderland", a.Salt.Span).StoredKey.Span.SequenceEqual(a.StoredKey.Span));
    }

    /// <summary>
    /// A wrong user name and a wrong password cost the same (issue 12 item 3): an unknown user is checked against a
    /// random password, so timing does not tell which users exist. Each side is the fastest of many batches.
    /// </summary>
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("CRAM-MD5")]
    [InlineData("XOAUTH2")]
    public void A_wrong_user_and_a_wrong_password_take_the_same_time(string method)
    {
        const string challenge = "<0123456789abcdef0123456789abcdef.1700000000@mx.test>";
        string digest = SmtpAuthRequest.CramMd5Digest("not-the-password", challenge);
        SmtpAuthRequest Request(string user) => method switch
        {
            "CRAM-MD5" => new SmtpAuthRequest(method, user, challenge: challenge, challengeResponse: digest),
            "XOAUTH2" => new SmtpAuthRequest(method, user, accessToken: "not-the-password"),
            _ => new SmtpAuthRequest(method, user, password: "not-the-password"),
        };
        SmtpAuthRequest wrongPassword = Request("alice");
        SmtpAuthRequest wrongUser = Request("mallory");
        Assert.False(_users.Authenticate(wrongPassword).IsSuccess);
        Assert.False(_users.Authenticate(wrongUser).IsSuccess);
        double known = Timing.FastestMs(() => _users.Authenticate(wrongPassword), runs: 30, batch: 200);
        double unknown = Timing.FastestMs(() => _users.Authenticate(wrongUser), runs: 30, batch: 200);
        double ratio = Math.Max(known, unknown) / Math.Min(known, unknown);
        Assert.True(ratio < 2, $"wrong password {known:F4} ms, wrong user {unknown:F4} ms per attempt");
    }

    /// <summary>
    /// SCRAM's first request derives credentials (4096 PBKDF2 iterations): it must cost as much for a user who does not
    /// exist as for one who does, or the first try of each name would tell. Every user's credentials are derived at the
    /// first SCRAM request, whoever it names. Each side is the fastest first request of several fresh authenticators.
    /// </summary>
    [Fact]
    public void The_first_SCRAM_request_costs_the_same_for_an_unknown_user_and_a_known_one()
    {
        static double FirstRequest(string user)
        {
            var users = new SmtpPasswordAuthenticator(new Dictionary<string, string> { ["alice"] = "wonderland" });
            long start = Stopwatch.GetTimestamp();
            SmtpAuthResult result = users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", user));
            double elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            Assert.NotNull(result.ScramCredentials);
            return elapsed;
        }

        double known = double.MaxValue;
        double unknown = double.MaxValue;
        for (int i = 0; i < 7; i++)
        {
            known = Math.Min(known, FirstRequest("alice"));
            unknown = Math.Min(unknown, FirstRequest("mallory"));
        }

        double ratio = Math.Max(known, unknown) / Math.Min(known, unknown);
        Assert.True(ratio < 3, $"first request for a known user {known:F3} ms, for an unknown one {unknown:F3} ms");
    }

    [Fact]
    public void Acting_as_someone_else_is_refused()
    {
        Assert.False(_users.Authenticate(new SmtpAuthRequest("PLAIN", "alice", password: "wonderland", authorizationIdentity: "bob")).IsSuccess);
        Assert.True(_users.Authenticate(new SmtpAuthRequest("PLAIN", "alice", password: "wonderland", authorizationIdentity: "alice")).IsSuccess);
        Assert.False(_users.Authenticate(new SmtpAuthRequest("SCRAM-SHA-256", "alice", authorizationIdentity: "bob")).IsSuccess);
    }

    [Fact]
    public void Xclient_accepts_a_listed_name()
    {
        Assert.Equal("bob", _users.Authenticate(new SmtpAuthRequest("XCLIENT", "bob")).User);
        Assert.False(_users.Authenticate(new SmtpAuthRequest("XCLIENT", "mallory")).IsSuccess);
    }

    [Fact]
    public void Names_compare_as_told_and_the_listed_spelling_is_the_user()
    {
        var users = new SmtpPasswordAuthenticator(new Dictionary<string, string> { ["Alice"] = "pw" }, StringComparer.OrdinalIgnoreCase);
        Assert.Equal("Alice", users.Authenticate(new SmtpAuthRequest("PLAIN", "ALICE", password: "pw")).User);
        Assert.True(users.Contains("alice"));
        Assert.False(_users.Contains("ALICE"));
        Assert.Equal((1, 2), (users.Count, _users.Count));
    }

    [Fact]
    public void Bad_maps_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SmtpPasswordAuthenticator([new("a", "1"), new("A", "2")], StringComparer.OrdinalIgnoreCase));
        Assert.Throws<ArgumentException>(() => new SmtpPasswordAuthenticator([new("a", null!)]));
        Assert.Throws<ArgumentNullException>(() => new SmtpPasswordAuthenticator(null!));
    }

    [Fact]
    public async Task Authenticate_async_is_the_handler_form()
    {
        SmtpAuthResult result = await _users.AuthenticateAsync(new SmtpAuthRequest("LOGIN", "alice", password: "wonderland"), null!, CancellationToken.None);
        Assert.True(result.IsSuccess);
    }
}
