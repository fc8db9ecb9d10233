namespace Smtpd.Tests.Protocol;

/// <summary>Handler contract: delegates or overrides, results, exceptions, 421, session state (§2).</summary>
public class HandlerTests
{
    [Fact]
    public async Task Rejections_carry_code_text_and_enhanced_code()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideEnhancedStatusCodes = false;
            o.OnMailFrom = (a, s, ct) => new(a.Address switch
            {
                "deny@b.c" => SmtpResult.Reject(550, "Sender denied"),
                "later@b.c" => SmtpResult.Reject(451, "Try later"),
                "policy@b.c" => SmtpResult.Reject(553, "Go away", "5.7.1"),
                _ => SmtpResult.Accept(),
            });
            o.OnRcptTo = (a, s, ct) => a.Address == "temp@b.c" ? throw new SmtpException(454, "Temp failure") : throw new SmtpException("No such user");
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal("550 5.1.1 Sender denied", (await client.CommandAsync("MAIL FROM:<deny@b.c>")).Line);
        Assert.Equal("451 4.3.0 Try later", (await client.CommandAsync("MAIL FROM:<later@b.c>")).Line);
        Assert.Equal("553 5.7.1 Go away", (await client.CommandAsync("MAIL FROM:<policy@b.c>")).Line);
        Assert.Equal("250 2.1.0 Accepted", (await client.CommandAsync("MAIL FROM:<ok@b.c>")).Line);
        Assert.Equal("454 4.7.0 Temp failure", (await client.CommandAsync("RCPT TO:<temp@b.c>")).Line);
        Assert.Equal("550 5.1.1 No such user", (await client.CommandAsync("RCPT TO:<x@b.c>")).Line);
    }

    [Fact]
    public async Task A_refused_sender_leaves_no_transaction_open()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = (a, s, ct) => new(SmtpResult.Reject(550, "no"));
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        Assert.Equal(503, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
        Assert.Equal(550, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
    }

    [Fact]
    public async Task Any_other_exception_gives_451_and_the_connection_goes_on()
    {
        var logger = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideEnhancedStatusCodes = false;
            o.Logger = logger;
            o.OnMailFrom = (a, s, ct) => a.Address == "throw@b.c" ? throw new InvalidOperationException("handler bug") : default;
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal("451 4.3.0 Error: internal server error", (await client.CommandAsync("MAIL FROM:<throw@b.c>")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<ok@b.c>")).Code);
        Assert.Equal("221 2.0.0 Bye", (await client.CommandAsync("QUIT")).Line);
        Assert.Contains(logger.Entries, e => e.Exception is InvalidOperationException && e.Message.Contains("MAIL FROM"));
        await using var another = await server.ConnectAsync();
        Assert.Equal(250, (await another.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [InlineData("IOException after reading")]
    [InlineData("IOException before reading")]
    [InlineData("its own timeout")]
    public async Task A_DATA_handler_that_fails_gets_451_and_the_session_goes_on(string failure)
    {
        // Issue 11, bug 2: an IOException (or the handler's own OperationCanceledException) from OnData dropped the
        // connection without a reply; only a failure of the client's connection may do that.
        var logger = new ListLogger();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Logger = logger;
            o.OnData = async (message, session, ct) =>
            {
                if (failure != "IOException before reading")
                {
                    await message.CopyToAsync(Stream.Null, ct);
                }

                if (failure == "its own timeout")
                {
                    using var own = new CancellationTokenSource();
                    await own.CancelAsync();
                    await Task.Delay(1000, own.Token);
                }

                throw new IOException("The disk is full");
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\n");
        Assert.Equal("451 Error: internal server error", (await client.ReadReplyAsync()).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Contains(logger.Entries, e => e.Exception is IOException or OperationCanceledException && e.Message.Contains("DATA"));
    }

    [Fact]
    public async Task A_refused_MAIL_leaves_nothing_on_the_envelope()
    {
        // Issue 11, bug 6: BODY, SMTPUTF8, REQUIRETLS and the DSN values were applied before the handler ran and kept
        // when it refused, so the next accepted MAIL inherited them.
        SmtpEnvelope? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Secured = true;
            o.HideDsn = false;
            o.OnMailFrom = (a, s, ct) => new(a.Address == "deny@b.c" ? SmtpResult.Reject(550, "Sender denied") : SmtpResult.Accept());
            o.OnData = async (message, session, ct) =>
            {
                await message.CopyToAsync(Stream.Null, ct);
                seen = session.Envelope;
                return SmtpResult.Accept();
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal("550 Sender denied", (await client.CommandAsync("MAIL FROM:<deny@b.c> BODY=8BITMIME SMTPUTF8 REQUIRETLS RET=HDRS ENVID=abc")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<ok@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.NotNull(seen);
        Assert.Equal("ok@b.c", seen.MailFrom!.Address);
        Assert.Equal("7bit", seen.BodyType);
        Assert.False(seen.SmtpUtf8);
        Assert.False(seen.RequireTls);
        Assert.Null(seen.Dsn!.Ret);
        Assert.Null(seen.Dsn.EnvId);
    }

    [Fact]
    public async Task A_421_from_a_handler_closes_the_connection()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = (a, s, ct) => new(SmtpResult.Reject(421, "Go away now"));
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.SendAsync("MAIL FROM:<a@b.c>\r\nNOOP\r\n");
        Assert.Equal("421 Go away now", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Connect_refusals_have_no_enhanced_code_and_close()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideEnhancedStatusCodes = false;
            o.OnConnect = (s, ct) => s.Items.Count == 0 ? throw new SmtpException("Nope") : default;
        });
        await using var client = await server.ConnectAsync(readGreeting: false);
        Assert.Equal("554 Nope", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());

        await using var blocked = await TestServer.StartAsync(o => o.OnConnect = (s, ct) => new(SmtpResult.Reject(421, $"Blocked {s.RemoteAddress}")));
        await using var client2 = await blocked.ConnectAsync(readGreeting: false);
        Assert.Equal("421 Blocked 127.0.0.1", (await client2.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task A_throwing_connect_handler_tempfails_the_client()
    {
        await using var server = await TestServer.StartAsync(o => o.OnConnect = (s, ct) => throw new InvalidOperationException("db down"));
        await using var client = await server.ConnectAsync(readGreeting: false);
        Assert.Equal("451 Error: internal server error", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Reply_text_cannot_split_a_reply()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = (a, s, ct) => new(SmtpResult.Reject(550, "line one\r\n250 injected\u0085x"));
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal("550 line one  250 injected  x", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("250 OK", (await client.CommandAsync("NOOP")).Line);
    }

    [Fact]
    public async Task Session_Error_holds_the_last_error_reply()
    {
        string? error = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = (a, s, ct) =>
            {
                error = s.Error;
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("FOO");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        Assert.Equal("500 Error: command not recognized", error);
    }

    [Fact]
    public async Task Application_state_survives_resets()
    {
        object? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnConnect = (s, ct) =>
            {
                s.Items["tenant"] = "acme";
                return default;
            };
            o.OnMailFrom = (a, s, ct) =>
            {
                seen = s.Items["tenant"];
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("RSET");
        await client.CommandAsync("EHLO y");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        Assert.Equal("acme", seen);
    }

    private sealed class CustomServer(SmtpServerOptions options) : SmtpServer(options)
    {
        public List<string> Calls { get; } = [];

        protected override ValueTask<SmtpResult> OnConnectAsync(SmtpSession session, CancellationToken cancellationToken)
        {
            Calls.Add("connect");
            return default;
        }

        protected override ValueTask<SmtpResult> OnMailFromAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken)
        {
            Calls.Add("mail " + address.Address);
            return new(address.Address.StartsWith("bad", StringComparison.Ordinal) ? SmtpResult.Reject(550, "Subclass says no") : SmtpResult.Accept());
        }

        protected override ValueTask<SmtpResult> OnRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken)
        {
            Calls.Add("rcpt " + address.Address);
            return default;
        }

        protected override async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(message);
            Calls.Add("data " + (await reader.ReadToEndAsync(cancellationToken)).Trim());
            return SmtpResult.Accept("Subclass queued");
        }

        protected override ValueTask OnCloseAsync(SmtpSession session, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add("close");
            }

            return default;
        }
    }

    [Fact]
    public async Task Handlers_can_be_overrides_of_a_subclass()
    {
        var custom = new CustomServer(TestServer.Defaults(o => o.DisabledCommands = ["AUTH"]));
        await using var server = await TestServer.StartAsync(custom);
        await using (var client = await server.ConnectAsync())
        {
            await client.CommandAsync("EHLO x");
            Assert.Equal("550 Subclass says no", (await client.CommandAsync("MAIL FROM:<bad@b.c>")).Line);
            await client.CommandAsync("MAIL FROM:<a@b.c>");
            await client.CommandAsync("RCPT TO:<r@b.c>");
            await client.CommandAsync("DATA");
            await client.SendAsync("hello\r\n.\r\n");
            Assert.Equal("250 Subclass queued", (await client.ReadReplyAsync()).Line);
            await client.CommandAsync("QUIT");
        }

        await Connections.ConnectionManagementTests.WaitUntil(() => custom.Calls.Contains("close"));
        Assert.Equal(["connect", "mail bad@b.c", "mail a@b.c", "rcpt r@b.c", "data hello", "close"], custom.Calls);
    }

    [Fact]
    public async Task OnClose_runs_once_per_connection()
    {
        int closes = 0;
        await using var server = await TestServer.StartAsync(o => o.OnClose = (s, ct) =>
        {
            Interlocked.Increment(ref closes);
            return default;
        });
        for (int i = 0; i < 20; i++)
        {
            await using var client = await server.ConnectAsync();
            if (i % 2 == 0)
            {
                await client.CommandAsync("QUIT");
            }
        }

        await Connections.ConnectionManagementTests.WaitUntil(() => Volatile.Read(ref closes) == 20);
        await Task.Delay(100);
        Assert.Equal(20, closes);
    }

    [Fact]
    public async Task Handlers_get_a_token_cancelled_when_the_connection_is_aborted()
    {
        var cancelled = new TaskCompletionSource();
        var entered = new TaskCompletionSource();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnMailFrom = async (a, s, ct) =>
            {
                ct.Register(() => cancelled.TrySetResult());
                entered.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
                return default;
            };
        });
        var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.SendLineAsync("MAIL FROM:<a@b.c>");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await server.Server.DisposeAsync();
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await client.DisposeAsync();
    }

    [Fact]
    public void Results_validate_their_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SmtpResult.Reject(250, "x"));
        Assert.Throws<ArgumentException>(() => SmtpResult.Reject(550, "x", "4.1.1"));
        Assert.Throws<ArgumentException>(() => SmtpResult.Reject(550, "x", "5.1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpException(200, "x"));
        Assert.True(SmtpResult.Accept().IsAccepted);
        Assert.False(SmtpResult.Reject(550, "x", "5.1.10").IsAccepted);
    }
}
