namespace Smtpd.Tests.Auth;

/// <summary>What a successful (or refused) AUTH does to the session, and the AUTH options of the reference (issue points 1 and 3).</summary>
public class AuthSessionTests
{
    private static readonly string Token = AuthServer.PlainToken;

    [Fact]
    public async Task After_success_auth_is_no_longer_advertised_and_a_second_auth_gets_503()
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using RawClient client = await server.ConnectAsync();
        Assert.Contains("AUTH PLAIN LOGIN", Keywords(await client.CommandAsync("EHLO client.example.com")));
        Assert.Equal("235 Authentication successful", (await client.CommandAsync($"AUTH PLAIN {Token}")).Line);
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.Equal("503 Error: No identity changes permitted", (await client.CommandAsync($"AUTH PLAIN {Token}")).Line);
    }

    [Fact]
    public async Task User_object_transmission_type_and_rset_keep_the_authentication()
    {
        var account = new Account("user", 42);
        var seen = new List<(object? User, string Type)>();
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.OnAuth = (auth, _, _) => ValueTask.FromResult(auth.ValidatePassword(AuthServer.Password) ? SmtpAuthResult.Success(account) : SmtpAuthResult.Failure());
            o.OnMailFrom = (_, session, _) =>
            {
                seen.Add((session.User, session.TransmissionType));
                return ValueTask.FromResult(SmtpResult.Accept());
            };
        });
        await using RawClient client = await server.ConnectAsync();
        await client.CommandAsync("HELO client.example.com");
        Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example.com")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal([(account, "SMTPA"), (account, "SMTPA"), (account, "ESMTPA")], seen.Select(s => ((object)s.User!, s.Type)));
    }

    [Fact]
    public async Task Mechanism_names_are_case_insensitive()
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(235, (await client.CommandAsync($"auth plain {Token}")).Code);
    }

    [Fact]
    public async Task Plain_falls_back_to_the_authorization_identity_and_exposes_it()
    {
        var requests = new List<SmtpAuthRequest>();
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = (auth, _, _) =>
        {
            requests.Add(auth);
            return ValueTask.FromResult(SmtpAuthResult.Failure());
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {AuthServer.Base64("testuser\0\0testpass")}")).Code);
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {AuthServer.Base64("admin\0testuser\0testpass")}")).Code);
        Assert.Equal(("PLAIN", "testuser", "testuser", "testpass"), (requests[0].Method, requests[0].Username, requests[0].AuthorizationIdentity, requests[0].Password));
        Assert.Equal(("testuser", "admin", "testpass"), (requests[1].Username, requests[1].AuthorizationIdentity, requests[1].Password));
        Assert.Null(requests[1].AccessToken);
    }

    [Theory]
    [InlineData("AUTH PLAIN {0}", "\0us\u0001er\0pass")]
    [InlineData("AUTH PLAIN {0}", "ad\nmin\0user\0pass")]
    [InlineData("AUTH LOGIN {0}", "us\u007fer")]
    [InlineData("AUTH LOGIN {0}", "us\u0085er")]
    public async Task Control_characters_in_identities_are_invalid_userdata_and_never_reach_the_handler(string command, string payload)
    {
        int calls = 0;
        await using TestServer server = await AuthServer.StartAsync(o => o.OnAuth = (_, _, _) =>
        {
            calls++;
            return ValueTask.FromResult(SmtpAuthResult.Failure());
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync(string.Format(command, AuthServer.Base64(payload)))).Line);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task A_star_initial_response_is_data_not_a_cancellation()
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync("AUTH PLAIN *")).Line);
        Assert.Equal("501 Error: missing username", (await client.CommandAsync("AUTH LOGIN *")).Line);
    }

    [Theory]
    [InlineData("AHVzZXIAcGFzcw")]
    [InlineData("AHVz ZXIA\tcGFz*cw==")]
    [InlineData("AHVzZXIAcGFzcw==trailing-after-padding")]
    public async Task Base64_is_decoded_leniently_as_the_reference(string token)
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("334 ", (await client.CommandAsync("AUTH PLAIN")).Line);
        Assert.Equal(235, (await client.CommandAsync(token)).Code);
    }

    [Fact]
    public async Task Garbage_in_every_state_gets_a_reply_and_the_connection_stays_usable()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthMethods = [.. AuthServer.AllMechanisms];
            o.MaxAllowedUnauthenticatedCommands = 0;
            o.MaxAuthFailures = 0;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        string[] garbage = ["", "=", "====", "%%%%", "\u00ff\u00fe", new string('A', 5000), "AAAA", "AQ==", "bj0sLA=="];
        foreach (string mechanism in AuthServer.AllMechanisms)
        {
            foreach (string line in garbage)
            {
                Reply first = await client.CommandAsync($"AUTH {mechanism}");
                Assert.Equal(334, first.Code);
                Reply reply = await client.CommandAsync(line);
                while (reply.Code == 334)
                {
                    reply = await client.CommandAsync(line);
                }

                Assert.InRange(reply.Code, 500, 599);
                Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
            }
        }
    }

    [Fact]
    public async Task Continuation_lines_belong_to_the_exchange_even_when_they_look_like_commands()
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(334, (await client.CommandAsync("AUTH LOGIN")).Code);
        Assert.Equal(334, (await client.CommandAsync("dXNlcg==")).Code);
        Assert.Equal("535 Error: Authentication credentials invalid", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("334 ", (await client.CommandAsync("AUTH PLAIN")).Line);
        Assert.Equal("501 Error: invalid userdata", (await client.CommandAsync("QUIT")).Line);
        Assert.Equal("221 Bye", (await client.CommandAsync("QUIT")).Line);
    }

    [Fact]
    public async Task Auth_disabled_is_an_unknown_command_and_not_required()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using RawClient client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO client.example.com");
        Assert.DoesNotContain(ehlo.Lines, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync($"AUTH PLAIN {Token}")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
    }

    [Fact]
    public async Task Auth_methods_are_advertised_in_the_configured_order_and_only_those_are_accepted()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.AuthMethods = ["scram-sha-256", " PLAIN ", "OAUTHBEARER", "X-UNKNOWN"]);
        await using RawClient client = await server.ConnectAsync();
        Assert.Contains("AUTH SCRAM-SHA-256 PLAIN OAUTHBEARER X-UNKNOWN", Keywords(await client.CommandAsync("EHLO client.example.com")));
        Assert.Equal("504 Error: Unrecognized authentication type", (await client.CommandAsync("AUTH LOGIN")).Line);
        Assert.Equal("504 Error: Unrecognized authentication type", (await client.CommandAsync("AUTH X-UNKNOWN")).Line);
        Assert.Equal("334 ", (await client.CommandAsync("AUTH SCRAM-SHA-256")).Line);
    }

    [Fact]
    public async Task Default_methods_are_login_and_plain_only()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.AllowInsecureAuth = true);
        await using RawClient client = await server.ConnectAsync();
        Assert.Contains("AUTH LOGIN PLAIN", Keywords(await client.CommandAsync("EHLO client.example.com")));
        foreach (string mechanism in new[] { "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-256" })
        {
            Assert.Equal("504 Error: Unrecognized authentication type", (await client.CommandAsync($"AUTH {mechanism}")).Line);
        }
    }

    [Fact]
    public async Task Auth_required_message_is_the_530_text()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthRequiredMessage = "Log in first, please";
            o.HideEnhancedStatusCodes = false;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal("530 5.7.0 Log in first, please", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("530 5.7.0 Log in first, please", (await client.CommandAsync("RCPT TO:<a@b.c>")).Line);
        Assert.Equal("530 5.7.0 Log in first, please", (await client.CommandAsync("DATA")).Line);
    }

    [Fact]
    public async Task Unauthenticated_commands_are_limited_to_ten_by_default()
    {
        await using TestServer server = await AuthServer.StartAsync();
        await using RawClient client = await server.ConnectAsync();
        for (int i = 1; i <= 9; i++)
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }

        Assert.Equal("421 Error: too many unauthenticated commands", (await client.CommandAsync("NOOP")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Unauthenticated_command_limit_is_configurable()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.MaxAllowedUnauthenticatedCommands = 3);
        await using RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(421, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Unauthenticated_command_limit_zero_disables_it()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.MaxAllowedUnauthenticatedCommands = 0);
        await using RawClient client = await server.ConnectAsync();
        for (int i = 0; i < 30; i++)
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }
    }

    [Fact]
    public async Task Unauthenticated_commands_are_not_counted_when_auth_is_optional_or_done_and_auth_lines_never_count()
    {
        await using TestServer optional = await AuthServer.StartAsync(o =>
        {
            o.AuthOptional = true;
            o.MaxAllowedUnauthenticatedCommands = 2;
        });
        await using (RawClient client = await optional.ConnectAsync())
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            }
        }

        await using TestServer required = await AuthServer.StartAsync(o => o.MaxAllowedUnauthenticatedCommands = 3);
        await using RawClient second = await required.ConnectAndGreetAsync();
        for (int i = 0; i < 2; i++)
        {
            // AUTH commands and their continuation lines are not counted (the reference counts continuation lines).
            Assert.Equal(334, (await second.CommandAsync("AUTH LOGIN")).Code);
            Assert.Equal(334, (await second.CommandAsync("dXNlcg==")).Code);
            Assert.Equal(501, (await second.CommandAsync("*")).Code);
        }

        Assert.Equal(235, (await second.CommandAsync($"AUTH PLAIN {Token}")).Code);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(250, (await second.CommandAsync("NOOP")).Code);
        }
    }

    [Fact]
    public async Task Closing_server_ends_a_pending_exchange_with_421()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.CloseTimeout = TimeSpan.FromSeconds(5));
        RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(334, (await client.CommandAsync("AUTH LOGIN")).Code);
        Task closing = server.Server.CloseAsync();
        Assert.Equal("421 Server shutting down", (await client.CommandAsync("dXNlcg==")).Line);
        Assert.True(await client.IsClosedAsync());
        await client.DisposeAsync();
        await closing.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>The EHLO keywords (the lines without their <c>250-</c>/<c>250 </c> prefix), first line excluded.</summary>
    private static string[] Keywords(Reply ehlo) => ehlo.Lines.Skip(1).Select(l => l[4..]).ToArray();

    private sealed record Account(string Name, int Id);
}
