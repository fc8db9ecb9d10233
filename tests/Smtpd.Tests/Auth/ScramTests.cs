using System.Text;

namespace Smtpd.Tests.Auth;

/// <summary>SCRAM-SHA-256 (RFC 7677) on the server side.</summary>
public class ScramTests
{
    private static string B64(string text) => AuthServer.Base64(text);

    private static Task<TestServer> StartAsync(Action<SmtpServerOptions>? configure = null) => AuthServer.StartAsync(o =>
    {
        o.AuthMethods = ["SCRAM-SHA-256"];
        configure?.Invoke(o);
    });

    [Fact]
    public void Rfc_7677_example_is_reproduced_exactly()
    {
        var mechanism = new ScramSha256Mechanism { NonceFactory = () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" };
        SaslStep step = mechanism.Start(B64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        Assert.Equal(SaslStepKind.Authenticate, step.Kind);
        Assert.Equal(("SCRAM-SHA-256", "user"), (step.Request!.Method, step.Request.Username));
        Assert.Null(step.Request.Password);

        var credentials = ScramSha256Credentials.Derive("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        step = mechanism.Complete(SmtpAuthResult.Scram(credentials, "the user"));
        Assert.Equal(SaslStepKind.Challenge, step.Kind);
        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", AuthServer.FromBase64(step.Text!));

        step = mechanism.Continue(B64("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
        Assert.Equal(SaslStepKind.Challenge, step.Kind);
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", AuthServer.FromBase64(step.Text!));

        step = mechanism.Continue("");
        Assert.Equal(SaslStepKind.Succeeded, step.Kind);
        Assert.Equal("the user", step.User);
    }

    private static async Task<(RawClient Client, string ServerFirst)> StartExchangeAsync(TestServer server, ScramClient scram, bool initialResponse = true)
    {
        RawClient client = await server.ConnectAndGreetAsync();
        Reply first;
        if (initialResponse)
        {
            first = await client.CommandAsync($"AUTH SCRAM-SHA-256 {B64(scram.ClientFirst)}");
        }
        else
        {
            Assert.Equal("334 ", (await client.CommandAsync("AUTH SCRAM-SHA-256")).Line);
            first = await client.CommandAsync(B64(scram.ClientFirst));
        }

        Assert.Equal(334, first.Code);
        return (client, AuthServer.FromBase64(first.Line[4..]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Exchange_succeeds_and_the_server_proves_itself(bool initialResponse)
    {
        await using TestServer server = await StartAsync();
        var scram = new ScramClient(AuthServer.User, AuthServer.Password);
        (RawClient client, string serverFirst) = await StartExchangeAsync(server, scram, initialResponse);
        await using RawClient _ = client;
        Assert.StartsWith($"r={scram.ClientNonce}", serverFirst, StringComparison.Ordinal);
        Assert.Contains(",i=4096", serverFirst, StringComparison.Ordinal);
        Reply serverFinal = await client.CommandAsync(B64(scram.ClientFinal(serverFirst)));
        Assert.Equal(334, serverFinal.Code);
        Assert.Equal(scram.ExpectedServerFinal, AuthServer.FromBase64(serverFinal.Line[4..]));
        Assert.Equal("235 Authentication successful", (await client.CommandAsync("")).Line);
    }

    [Fact]
    public async Task Wrong_password_tampered_proof_wrong_nonce_or_binding_get_535()
    {
        await using TestServer server = await StartAsync(o => o.MaxAuthFailures = 0);
        var cases = new (ScramClient Scram, Func<ScramClient, string, string> Final)[]
        {
            (new ScramClient(AuthServer.User, "wrong"), (s, f) => s.ClientFinal(f)),
            (new ScramClient(AuthServer.User, AuthServer.Password), (s, f) => s.ClientFinal(f, tamperProof: true)),
            (new ScramClient(AuthServer.User, AuthServer.Password), (s, f) => s.ClientFinal(f, nonce: s.ClientNonce + "other")),
            (new ScramClient(AuthServer.User, AuthServer.Password), (s, f) => s.ClientFinal(f, channelBinding: B64("y,,"))),
        };
        foreach (var (scram, final) in cases)
        {
            (RawClient client, string serverFirst) = await StartExchangeAsync(server, scram);
            await using RawClient _ = client;
            Assert.Equal("535 Error: Authentication credentials invalid", (await client.CommandAsync(B64(final(scram, serverFirst)))).Line);
            Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        }
    }

    [Fact]
    public async Task Unknown_user_gets_a_stable_decoy_salt_and_535()
    {
        await using TestServer server = await StartAsync();
        var salts = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            var scram = new ScramClient("nobody", AuthServer.Password);
            (RawClient client, string serverFirst) = await StartExchangeAsync(server, scram);
            await using RawClient _ = client;
            salts.Add(serverFirst.Split(',')[1]);
            Assert.Equal(535, (await client.CommandAsync(B64(scram.ClientFinal(serverFirst)))).Code);
        }

        Assert.Equal(salts[0], salts[1]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Star_cancels_at_every_step(int step)
    {
        await using TestServer server = await StartAsync();
        var scram = new ScramClient(AuthServer.User, AuthServer.Password);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(334, (await client.CommandAsync("AUTH SCRAM-SHA-256")).Code);
        if (step > 1)
        {
            string serverFirst = AuthServer.FromBase64((await client.CommandAsync(B64(scram.ClientFirst))).Line[4..]);
            if (step > 2)
            {
                Assert.Equal(334, (await client.CommandAsync(B64(scram.ClientFinal(serverFirst)))).Code);
            }
        }

        Assert.Equal("501 Authentication aborted", (await client.CommandAsync("*")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Theory]
    [InlineData("p=tls-server-end-point,,n=user,r=abc")]
    [InlineData("n,,m=ext,n=user,r=abc")]
    [InlineData("n,,n=us=er,r=abc")]
    [InlineData("n,,r=abc,n=user")]
    [InlineData("n,,n=user,r=")]
    [InlineData("n,,n=,r=abc")]
    [InlineData("n,x=y,n=user,r=abc")]
    [InlineData("n,,n=us\u0001er,r=abc")]
    [InlineData("")]
    public async Task Malformed_client_first_is_invalid_userdata(string clientFirst)
    {
        int calls = 0;
        await using TestServer server = await StartAsync(o => o.OnAuth = (_, _, _) =>
        {
            calls++;
            return ValueTask.FromResult(SmtpAuthResult.Failure());
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(334, (await client.CommandAsync("AUTH SCRAM-SHA-256")).Code);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync(B64(clientFirst))).Line);
        Assert.Equal(0, calls);
    }

    [Theory]
    [InlineData("c=biws,r={0}")]
    [InlineData("c=biws,r={0},p=not*base64")]
    [InlineData("c=biws,r={0},p=AAAA")]
    [InlineData("r={0},c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]
    public async Task Malformed_client_final_is_invalid_userdata(string format)
    {
        await using TestServer server = await StartAsync();
        var scram = new ScramClient(AuthServer.User, AuthServer.Password);
        (RawClient client, string serverFirst) = await StartExchangeAsync(server, scram);
        await using RawClient _ = client;
        string nonce = serverFirst.Split(',')[0][2..];
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync(B64(string.Format(format, nonce)))).Line);
    }

    [Fact]
    public async Task Anything_but_an_empty_line_after_the_server_signature_is_invalid_userdata()
    {
        await using TestServer server = await StartAsync();
        var scram = new ScramClient(AuthServer.User, AuthServer.Password);
        (RawClient client, string serverFirst) = await StartExchangeAsync(server, scram);
        await using RawClient _ = client;
        Assert.Equal(334, (await client.CommandAsync(B64(scram.ClientFinal(serverFirst)))).Code);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync(B64("extra"))).Line);
        Assert.Equal(530, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
    }

    [Fact]
    public async Task Names_are_decoded_and_the_authorization_identity_reaches_the_handler()
    {
        SmtpAuthRequest? seen = null;
        await using TestServer server = await StartAsync(o => o.OnAuth = (auth, _, _) =>
        {
            seen = auth;
            return ValueTask.FromResult(SmtpAuthResult.Scram(ScramSha256Credentials.Derive("pw"), auth.Username));
        });
        var scram = new ScramClient("a=3Db=2Cc", "pw", "n,a=admin=2Cx,");
        (RawClient client, string serverFirst) = await StartExchangeAsync(server, scram);
        await using RawClient _ = client;
        Assert.Equal(("a=b,c", "admin,x"), (seen!.Username, seen.AuthorizationIdentity));
        Assert.Equal(334, (await client.CommandAsync(B64(scram.ClientFinal(serverFirst)))).Code);
        Assert.Equal(235, (await client.CommandAsync("")).Code);
    }

    [Fact]
    public async Task Handler_answering_success_without_credentials_is_an_internal_error()
    {
        var logger = new ListLogger();
        await using TestServer server = await StartAsync(o =>
        {
            o.Logger = logger;
            o.OnAuth = (auth, _, _) => ValueTask.FromResult(SmtpAuthResult.Success(auth.Username));
        });
        var scram = new ScramClient(AuthServer.User, AuthServer.Password);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("451 Error: internal server error", (await client.CommandAsync($"AUTH SCRAM-SHA-256 {B64(scram.ClientFirst)}")).Line);
        Assert.Contains(logger.Entries, e => e.Exception?.Message.Contains("SmtpAuthResult.Scram", StringComparison.Ordinal) == true);
        Assert.Equal(530, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
    }

    [Fact]
    public async Task Credentials_for_other_mechanisms_are_an_internal_error()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
            o.OnAuth = (auth, _, _) => ValueTask.FromResult(SmtpAuthResult.Scram(ScramSha256Credentials.Derive("pass"), auth.Username)));
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("451 Error: internal server error", (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Line);
    }

    [Fact]
    public void Validate_password_is_not_how_scram_is_answered()
    {
        var request = new SmtpAuthRequest(SmtpAuthMethods.ScramSha256, "user");
        Assert.Throws<InvalidOperationException>(() => request.ValidatePassword("pass"));
    }

    [Fact]
    public void Credentials_derive_deterministically_from_password_salt_and_iterations()
    {
        byte[] salt = Encoding.ASCII.GetBytes("0123456789abcdef");
        var a = ScramSha256Credentials.Derive("pencil", salt, 4096);
        var b = ScramSha256Credentials.Derive("pencil", salt, 4096);
        var c = ScramSha256Credentials.Derive("pencil", salt, 4097);
        Assert.True(a.StoredKey.Span.SequenceEqual(b.StoredKey.Span) && a.ServerKey.Span.SequenceEqual(b.ServerKey.Span));
        Assert.False(a.StoredKey.Span.SequenceEqual(c.StoredKey.Span));
        var copy = new ScramSha256Credentials(a.Salt.Span, a.Iterations, a.StoredKey.Span, a.ServerKey.Span);
        Assert.True(copy.StoredKey.Span.SequenceEqual(a.StoredKey.Span));
        var random = ScramSha256Credentials.Derive("pencil");
        Assert.Equal((16, 4096), (random.Salt.Length, random.Iterations));
        Assert.False(random.Salt.Span.SequenceEqual(ScramSha256Credentials.Derive("pencil").Salt.Span));
    }

    [Fact]
    public void Credentials_reject_unusable_values()
    {
        byte[] key = new byte[32];
        Assert.Throws<ArgumentException>(() => new ScramSha256Credentials([], 4096, key, key));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScramSha256Credentials([1], 0, key, key));
        Assert.Throws<ArgumentException>(() => new ScramSha256Credentials([1], 4096, new byte[20], key));
        Assert.Throws<ArgumentException>(() => ScramSha256Credentials.Derive("pw", [], 4096));
    }

    [Fact]
    public void Passwords_are_saslprep_normalised_like_clients_do()
    {
        byte[] salt = [1, 2, 3];
        // U+00A0 (no-break space) maps to a space, U+00AD (soft hyphen) to nothing, U+FB01 (ligature fi) NFKC to "fi".
        var mapped = ScramSha256Credentials.Derive("a\u00a0b\u00adc\ufb01", salt, 1);
        var plain = ScramSha256Credentials.Derive("a bcfi", salt, 1);
        Assert.True(mapped.StoredKey.Span.SequenceEqual(plain.StoredKey.Span));
    }
}
