namespace Smtpd.Tests.Protocol;

/// <summary>MAIL/RCPT parameters (§8.2, §8.5, §8.6, transcript C and the robustness cases of §18.6).</summary>
public class ParameterTests
{
    private static Task<TestServer> Server(Action<SmtpServerOptions>? more = null) => TestServer.StartAsync(o =>
    {
        o.DisabledCommands = ["AUTH"];
        o.HideEnhancedStatusCodes = false;
        o.HideDsn = false;
        o.Size = 1000;
        more?.Invoke(o);
    });

    [Theory]
    [InlineData(" SIZE=abc", "501 5.5.4 Error: Bad message size syntax")]
    [InlineData(" SIZE=-1", "501 5.5.4 Error: Bad message size syntax")]
    [InlineData(" SIZE=123456789012345678901", "501 5.5.4 Error: Bad message size syntax")]
    [InlineData(" SIZE=2000", "552 5.3.4 Error: message exceeds fixed maximum message size 1000")]
    [InlineData(" SIZE", "501 5.5.4 Error: SIZE parameter requires a value")]
    [InlineData(" BODY", "501 5.5.4 Error: BODY parameter requires a value")]
    [InlineData(" BODY=", "501 5.5.4 Error: BODY parameter requires a value")]
    [InlineData(" RET", "501 5.5.4 Error: RET parameter requires a value")]
    [InlineData(" ENVID", "501 5.5.4 Error: ENVID parameter requires a value")]
    [InlineData(" BODY=BINARYMIME", "555 5.5.4 Error: unsupported parameter BODY=BINARYMIME")]
    [InlineData(" BODY=QUANTUM", "501 5.5.4 Invalid BODY parameter value. Must be 7BIT or 8BITMIME")]
    [InlineData(" X-FOO=1", "555 5.5.4 Error: unsupported parameter X-FOO")]
    [InlineData(" x-flag", "555 5.5.4 Error: unsupported parameter X-FLAG")]
    [InlineData(" AUTH=<>", "555 5.5.4 Error: unsupported parameter AUTH")]
    [InlineData(" ENVID=a+4a", "501 5.5.4 Error: Bad ENVID parameter syntax")]
    [InlineData(" ENVID=a+4", "501 5.5.4 Error: Bad ENVID parameter syntax")]
    [InlineData(" ENVID=a=b", "501 5.5.4 Error: Bad ENVID parameter syntax")]
    [InlineData(" ENVID=a+2Bb+3Dc", "250 2.1.0 Accepted")]
    [InlineData(" SIZE=00000000000000001000", "250 2.1.0 Accepted")]
    [InlineData(" SIZE=00000000000000001001", "552 5.3.4 Error: message exceeds fixed maximum message size 1000")]
    [InlineData(" SIZE=0", "250 2.1.0 Accepted")]
    [InlineData(" SMTPUTF8=yes", "501 5.5.4 Invalid SMTPUTF8 parameter. This flag does not accept a value")]
    [InlineData(" REQUIRETLS", "530 5.7.0 REQUIRETLS not permitted on non-TLS connections")]
    [InlineData(" RET=X", "501 5.5.4 Invalid RET parameter value. Must be FULL or HDRS")]
    [InlineData(" RET=FULL RET=HDRS", "501 5.5.4 Error: duplicate RET parameter")]
    [InlineData(" ENVID=a+0D+0Ab", "501 5.1.7 Error: Bad sender address syntax")]
    [InlineData(" RET=hdrs ENVID=x+2By BODY=8bitmime SMTPUTF8 SIZE=10", "250 2.1.0 Accepted")]
    [InlineData(" RET=hdrs ENVID=x+2By BODY=8bitmime SMTPUTF8 SIZE=10 X-FOO=1", "555 5.5.4 Error: unsupported parameter X-FOO")]
    [InlineData(" SIZE=1000", "250 2.1.0 Accepted")]
    [InlineData(" =x", "250 2.1.0 Accepted")]
    public async Task MAIL_parameters(string parameters, string expected)
    {
        await using var server = await Server();
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(expected, (await client.CommandAsync("MAIL FROM:<a@b.c>" + parameters)).Line);

        // The session goes on after a refusal.
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
    }

    [Theory]
    [InlineData(" NOTIFY=BAD", "501 5.5.4 Error: NOTIFY parameter must be NEVER, SUCCESS, FAILURE, or DELAY")]
    [InlineData(" NOTIFY=NEVER,SUCCESS", "501 5.5.4 Error: NOTIFY=NEVER cannot be combined with other values")]
    [InlineData(" NOTIFY=NEVER NOTIFY=SUCCESS", "501 5.5.4 Error: duplicate NOTIFY parameter")]
    [InlineData(" ORCPT=foo", "501 5.5.4 Error: Bad ORCPT parameter syntax")]
    [InlineData(" ORCPT=rfc822;", "501 5.5.4 Error: Bad ORCPT parameter syntax")]
    [InlineData(" NOTIFY", "501 5.5.4 Error: NOTIFY parameter requires a value")]
    [InlineData(" ORCPT", "501 5.5.4 Error: ORCPT parameter requires a value")]
    [InlineData(" ORCPT=rfc822;rcpt@example.com", "250 2.1.5 Accepted")]
    [InlineData(" ORCPT=rfc822;rcpt+2Btag@example.com", "250 2.1.5 Accepted")]
    [InlineData(" ORCPT=rfc822;rcpt+2btag@example.com", "501 5.5.4 Error: Bad ORCPT parameter syntax")]
    [InlineData(" ORCPT=rfc822;a=b@example.com", "501 5.5.4 Error: Bad ORCPT parameter syntax")]
    [InlineData(" ORCPT=rfc822;rcpt@example.com+", "501 5.5.4 Error: Bad ORCPT parameter syntax")]
    [InlineData(" X-PRIORITY=1", "555 5.5.4 Error: unsupported parameter X-PRIORITY")]
    [InlineData(" RET=FULL", "555 5.5.4 Error: unsupported parameter RET")]
    [InlineData(" NOTIFY=success,FAILURE,delay", "250 2.1.5 Accepted")]
    public async Task RCPT_parameters(string parameters, string expected)
    {
        await using var server = await Server();
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        Assert.Equal(expected, (await client.CommandAsync("RCPT TO:<r@b.c>" + parameters)).Line);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<s@b.c>")).Code);
    }

    [Fact]
    public async Task With_DSN_hidden_its_parameters_get_555()
    {
        await using var server = await Server(o => o.HideDsn = true);
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.DoesNotContain("250-DSN", ehlo.Lines);
        Assert.Equal("555 5.5.4 Error: unsupported parameter RET", (await client.CommandAsync("MAIL FROM:<a@b.c> RET=FULL")).Line);
        Assert.Equal("555 5.5.4 Error: unsupported parameter ENVID", (await client.CommandAsync("MAIL FROM:<a@b.c> ENVID=y")).Line);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        Assert.Equal("555 5.5.4 Error: unsupported parameter NOTIFY", (await client.CommandAsync("RCPT TO:<r@b.c> NOTIFY=SUCCESS")).Line);
        Assert.Equal("555 5.5.4 Error: unsupported parameter ORCPT", (await client.CommandAsync("RCPT TO:<r@b.c> ORCPT=rfc822;r@b.c")).Line);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
    }

    [Fact]
    public async Task Parameters_the_application_lists_pass_unchecked_to_the_handlers()
    {
        SmtpSession? session = null;
        SmtpAddress? sender = null;
        SmtpAddress? recipient = null;
        await using var server = await Server(o =>
        {
            o.HideDsn = true;
            o.AdditionalMailParameters = ["x-campaign", "RET", "ENVID"];
            o.AdditionalRcptParameters = ["NOTIFY", "ORCPT"];
            o.OnMailFrom = (a, s, ct) =>
            {
                sender = a;
                return default;
            };
            o.OnRcptTo = (a, s, ct) =>
            {
                session = s;
                recipient = a;
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c> RET=X ENVID=y+4a X-Campaign=spring")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c> NOTIFY=BAD ORCPT=foo")).Code);
        Assert.Equal("555 5.5.4 Error: unsupported parameter X-CAMPAIGN", (await client.CommandAsync("RCPT TO:<s@b.c> X-CAMPAIGN=1")).Line);
        Assert.Null(session!.Envelope.Dsn);
        Assert.Null(recipient!.Dsn);
        Assert.Equal("spring", sender!.Args["X-CAMPAIGN"]);
        Assert.Equal("y+4a", sender.Args["ENVID"]);
        Assert.Equal("BAD", recipient.Args["NOTIFY"]);
    }

    [Fact]
    public async Task AUTH_parameter_is_supported_where_AUTH_is_offered()
    {
        await using var server = await Server(o =>
        {
            o.DisabledCommands = [];
            o.AuthOptional = true;
            o.AllowInsecureAuth = true;
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c> AUTH=<>")).Code);
    }

    [Fact]
    public async Task Parameters_reach_the_handlers_and_the_envelope()
    {
        SmtpAddress? sender = null;
        SmtpAddress? recipient = null;
        SmtpEnvelope? envelope = null;
        await using var server = await Server(o =>
        {
            o.AdditionalMailParameters = ["CUSTOM"];
            o.OnMailFrom = (a, s, ct) =>
            {
                sender = a;
                envelope = s.Envelope;
                Assert.Equal("8bitmime", s.Envelope.BodyType);
                Assert.True(s.Envelope.SmtpUtf8);
                return default;
            };
            o.OnRcptTo = (a, s, ct) =>
            {
                recipient = a;
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c> BODY=8BITMIME SMTPUTF8 RET=hdrs ENVID=abc+2Bd CUSTOM=a+ABc+20foo size=12")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;original@example.com")).Code);
        Assert.Equal("8BITMIME", sender!.Args["BODY"]);
        Assert.Null(sender.Args["SMTPUTF8"]);
        Assert.Equal("a\u00abc foo", sender.Args["CUSTOM"]);
        Assert.Equal("12", sender.Args["SIZE"]);
        Assert.Equal("HDRS", envelope!.Dsn!.Ret);
        Assert.Equal("abc+d", envelope.Dsn.EnvId);
        Assert.Equal(["SUCCESS", "FAILURE"], recipient!.Dsn!.Notify);
        Assert.Equal("rfc822;original@example.com", recipient.Dsn.Orcpt);
    }

    [Fact]
    public async Task Envelope_starts_empty_and_is_replaced_at_each_reset()
    {
        var envelopes = new List<SmtpEnvelope>();
        await using var server = await Server(o => o.OnMailFrom = (a, s, ct) =>
        {
            envelopes.Add(s.Envelope);
            return default;
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("RSET");
        await client.CommandAsync("MAIL FROM:<>");
        Assert.Equal(2, envelopes.Count);
        Assert.NotSame(envelopes[0], envelopes[1]);
        Assert.Equal("a@b.c", envelopes[0].MailFrom!.Address);
        Assert.Single(envelopes[0].RcptTo);
        Assert.True(envelopes[1].MailFrom!.IsNullSender);
        Assert.Equal("7bit", envelopes[1].BodyType);
    }

    [Fact]
    public async Task Oversized_SIZE_is_accepted_with_HideSize_and_SIZE_is_advertised_bare()
    {
        await using var server = await Server(o => o.HideSize = true);
        await using var client = await server.ConnectAsync();
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains("250 SIZE", ehlo.Lines);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c> SIZE=5000")).Code);
    }

    [Fact]
    public async Task SIZE_is_advertised_with_the_limit_and_not_without_one()
    {
        await using (var server = await Server())
        await using (var client = await server.ConnectAsync())
        {
            Assert.Contains("250 SIZE 1000", (await client.CommandAsync("EHLO x")).Lines);
        }

        await using (var server = await Server(o => o.Size = 0))
        await using (var client = await server.ConnectAsync())
        {
            Reply ehlo = await client.CommandAsync("EHLO x");
            Assert.DoesNotContain(ehlo.Lines, l => l.Contains("SIZE"));
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c> SIZE=99999999999")).Code);
        }
    }

    [Fact]
    public async Task MaxRecipients_refuses_the_extra_recipient_but_not_a_repeat()
    {
        await using var server = await Server(o => o.MaxRecipients = 2);
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<one@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<two@b.c>")).Code);
        Assert.Equal("452 4.5.3 Error: too many recipients", (await client.CommandAsync("RCPT TO:<three@b.c>")).Line);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<ONE@b.c>")).Code);
    }

    [Fact]
    public async Task Repeated_recipient_replaces_the_earlier_entry()
    {
        SmtpSession? session = null;
        await using var server = await Server(o => o.OnRcptTo = (a, s, ct) =>
        {
            session = s;
            return default;
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<one@b.c>");
        await client.CommandAsync("RCPT TO:<ONE@b.c> NOTIFY=NEVER");
        Assert.Single(session!.Envelope.RcptTo);
        Assert.Equal("ONE@b.c", session.Envelope.RcptTo[0].Address);
    }
}
