namespace Smtpd.Tests.Protocol;

/// <summary>The unrecognized and unauthenticated command counters and disabled commands (§5, §6.2).</summary>
public class CounterTests
{
    [Fact]
    public async Task The_tenth_unknown_command_closes_the_connection()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("ZOOP")).Line);
        }

        Assert.Equal("421 Error: too many unrecognized commands", (await client.CommandAsync("ZOOP")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task MaxUnrecognizedCommands_sets_the_limit_and_zero_disables_it()
    {
        await using (var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MaxUnrecognizedCommands = 2;
        }))
        await using (var client = await server.ConnectAsync())
        {
            Assert.Equal(500, (await client.CommandAsync("ZOOP")).Code);
            Assert.Equal(421, (await client.CommandAsync("ZOOP")).Code);
        }

        await using (var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MaxUnrecognizedCommands = 0;
        }))
        await using (var client = await server.ConnectAsync())
        {
            for (int i = 0; i < 30; i++)
            {
                Assert.Equal(500, (await client.CommandAsync("ZOOP")).Code);
            }
        }
    }

    [Fact]
    public async Task The_unrecognized_counter_restarts_after_DATA()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        for (int i = 0; i < 9; i++)
        {
            await client.CommandAsync("ZOOP");
        }

        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("DATA");
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(500, (await client.CommandAsync("ZOOP")).Code);
        }
    }

    [Fact]
    public async Task Greeting_commands_refused_as_unknown_carry_no_enhanced_code()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH", "HELO"];
            o.HideEnhancedStatusCodes = false;
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("HELO x")).Line);
        Assert.Equal("500 5.5.2 Error: command not recognized", (await client.CommandAsync("ZOOP")).Line);
    }

    [Fact]
    public async Task Unauthenticated_clients_get_nine_commands()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }

        Assert.Equal("421 Error: too many unauthenticated commands", (await client.CommandAsync("NOOP")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task MaxAllowedUnauthenticatedCommands_sets_the_limit_and_zero_disables_it()
    {
        await using (var server = await TestServer.StartAsync(o => o.MaxAllowedUnauthenticatedCommands = 3))
        await using (var client = await server.ConnectAsync())
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            Assert.Equal(421, (await client.CommandAsync("NOOP")).Code);
        }

        await using (var server = await TestServer.StartAsync(o => o.MaxAllowedUnauthenticatedCommands = 0))
        await using (var client = await server.ConnectAsync())
        {
            for (int i = 0; i < 25; i++)
            {
                Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            }
        }
    }

    [Fact]
    public async Task No_unauthenticated_limit_when_AUTH_is_optional_or_disabled()
    {
        foreach (Action<SmtpServerOptions> configure in new Action<SmtpServerOptions>[] { o => o.AuthOptional = true, o => o.DisabledCommands = ["AUTH"], o => o.AuthMethods = [] })
        {
            await using var server = await TestServer.StartAsync(configure);
            await using var client = await server.ConnectAsync();
            for (int i = 0; i < 15; i++)
            {
                Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            }
        }
    }

    [Fact]
    public async Task AuthRequiredMessage_and_optional_auth()
    {
        await using (var server = await TestServer.StartAsync(o => o.AuthRequiredMessage = "Log in first"))
        await using (var client = await server.ConnectAsync())
        {
            await client.CommandAsync("EHLO x");
            Assert.Equal("530 Log in first", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
            Assert.Equal(530, (await client.CommandAsync("RCPT TO:<a@b.c>")).Code);
            Assert.Equal(530, (await client.CommandAsync("DATA")).Code);
        }

        await using (var server = await TestServer.StartAsync(o => o.AuthOptional = true))
        await using (var client = await server.ConnectAsync())
        {
            await client.CommandAsync("EHLO x");
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        }
    }

    [Fact]
    public async Task Greeting_required_is_checked_before_auth_required()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        Assert.Equal("503 Error: send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<a@b.c>")).Line);
        Assert.Equal("503 Error: send HELO/EHLO first", (await client.CommandAsync("AUTH PLAIN AHUAcA==")).Line);
    }

    [Fact]
    public async Task Disabled_commands_behave_as_unknown()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH", " vrfy "]);
        await using var client = await server.ConnectAsync();
        Assert.Equal(500, (await client.CommandAsync("VRFY user")).Code);
        Assert.Equal(252, (await new Func<Task<Reply>>(async () =>
        {
            await using var other = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
            await using var c = await other.ConnectAsync();
            return await c.CommandAsync("VRFY user");
        })()).Code);
    }

    [Fact]
    public async Task A_session_can_replace_the_disabled_list()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnConnect = (s, ct) =>
            {
                if (s.RemotePort % 1 == 0)
                {
                    s.DisabledCommands = ["noop"];
                }

                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(500, (await client.CommandAsync("NOOP")).Code);

        // The session's own list replaced the server's: AUTH is on again for this client.
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains(ehlo.Lines, l => l.EndsWith("AUTH LOGIN PLAIN", StringComparison.Ordinal));
    }
}
