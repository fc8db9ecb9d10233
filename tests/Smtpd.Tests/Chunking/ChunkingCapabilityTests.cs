using System.Net.Sockets;
using System.Text;
using static Smtpd.Tests.Chunking.ChunkingServer;

namespace Smtpd.Tests.Chunking;

/// <summary>What CHUNKING, BINARYMIME and LIMITS change in the EHLO reply and the MAIL parameters, and the limits BDAT counts toward.</summary>
public class ChunkingCapabilityTests
{
    /// <summary>The whole EHLO/LHLO reply as the bytes on the wire.</summary>
    private static async Task<string> RawEhlo(TestServer server, string command = "EHLO client.example")
    {
        await using RawClient client = await server.ConnectAsync();
        await client.SendLineAsync(command);
        var received = new List<byte>();
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            int n = await client.Socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            received.AddRange(buffer.AsSpan(0, n));
            string text = Encoding.ASCII.GetString([.. received]);
            int lastLine = text.LastIndexOf("\r\n", text.Length - 2, StringComparison.Ordinal) + 2;
            if (text.EndsWith("\r\n", StringComparison.Ordinal) && text.Length - lastLine > 3 && text[lastLine + 3] == ' ')
            {
                return text;
            }
        }
    }

    public static TheoryData<string, string, string> ReferenceReplies() => new()
    {
        // The reference's replies for these settings (smtp-server-reference.md §1.2), as they were before CHUNKING.
        {
            "defaults", "EHLO client.example",
            "250-mx.test Nice to meet you, [127.0.0.1]\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH LOGIN PLAIN\r\n250 STARTTLS\r\n"
        },
        {
            "opt-in", "EHLO client.example",
            "250-mx.test Nice to meet you, [127.0.0.1]\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-AUTH PLAIN\r\n250-STARTTLS\r\n250 SIZE 1024\r\n"
        },
        {
            "lmtp", "LHLO client.example",
            "250-mx.test Nice to meet you, [127.0.0.1]\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n"
        },
    };

    [Theory]
    [MemberData(nameof(ReferenceReplies))]
    public async Task With_chunking_off_the_EHLO_reply_is_byte_for_byte_what_it_was(string settings, string command, string expected)
    {
        // Only options that existed before CHUNKING: CHUNKING, BINARYMIME and LIMITS are off by default.
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MaxRecipients = 5;
            switch (settings)
            {
                case "opt-in":
                    o.HideEnhancedStatusCodes = false;
                    o.HideDsn = false;
                    o.Size = 1024;
                    o.AuthMethods = ["PLAIN"];
                    break;
                case "lmtp":
                    o.Lmtp = true;
                    o.Size = 10;
                    o.HideSize = true;
                    o.DisabledCommands = ["AUTH", "STARTTLS"];
                    break;
            }
        });
        Assert.Equal(expected, await RawEhlo(server, command));
    }

    [Fact]
    public async Task Chunking_adds_CHUNKING_and_BINARYMIME_after_the_reference_keywords()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.Size = 1024;
        });
        Assert.Equal(
            "250-mx.test Nice to meet you, [127.0.0.1]\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH LOGIN PLAIN\r\n250-STARTTLS\r\n250-SIZE 1024\r\n250-CHUNKING\r\n250 BINARYMIME\r\n",
            await RawEhlo(server));
    }

    [Fact]
    public async Task Disabling_BDAT_hides_CHUNKING_and_BINARYMIME()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.DisabledCommands = ["AUTH", "bdat"]);
        Assert.DoesNotContain("CHUNKING", await RawEhlo(server));
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal(501, (await client.CommandAsync("MAIL FROM:<a@example.com> BODY=BINARYMIME")).Code);
        Assert.Equal(500, (await client.CommandAsync("BDAT 0 LAST")).Code);
    }

    [Fact]
    public async Task With_chunking_off_BDAT_is_an_unrecognized_command_and_counts_as_one()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MaxUnrecognizedCommands = 2;
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("500 Error: command not recognized", (await client.CommandAsync("BDAT 0 LAST")).Line);
        Assert.Equal("421 Error: too many unrecognized commands", (await client.CommandAsync("bdat 4")).Line);
    }

    [Fact]
    public async Task The_unrecognized_command_counter_restarts_after_a_BDAT_message()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.MaxUnrecognizedCommands = 2);
        await using var client = await OpenAsync(server);
        Assert.Equal(500, (await client.CommandAsync("XYZZY")).Code);
        await client.SendBytesAsync(Chunk("x\r\n", last: true));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(500, (await client.CommandAsync("XYZZY")).Code);
    }

    [Fact]
    public async Task BDAT_counts_toward_the_unauthenticated_limit_and_is_refused_without_authentication()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.AllowInsecureAuth = true;
            o.MaxAllowedUnauthenticatedCommands = 3;
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        await client.SendBytesAsync(Chunk("QUIT\r\n"));
        Assert.Equal("530 Error: authentication Required", (await client.ReadReplyAsync()).Line);
        await client.SendBytesAsync(Chunk("QUIT\r\n"));
        Assert.Equal("421 Error: too many unauthenticated commands", (await client.ReadReplyAsync()).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task BODY_BINARYMIME_is_refused_as_the_reference_does_without_chunking()
    {
        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO x")).Code);
        Assert.Equal("501 Invalid BODY parameter value. Must be 7BIT or 8BITMIME", (await client.CommandAsync("MAIL FROM:<a@example.com> BODY=BINARYMIME")).Line);
    }

    [Fact]
    public async Task BODY_BINARYMIME_is_accepted_with_chunking_and_the_body_type_is_in_the_envelope()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture);
        await using var client = await OpenAsync(server, mailParameters: " BODY=binarymime");
        byte[] binary = [0, 1, 2, 0xFF, 0x0A, 0x2E, 0x0D, 0x0A, 0x2E, 0x0D, 0x0A];
        await client.SendBytesAsync(Chunk(binary, last: true));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(binary, capture.Messages.Single());
        Assert.Equal("binarymime", capture.Envelopes.Single().BodyType);
        Assert.Equal("binarymime", capture.Envelopes.Single().MailFrom!.Args["BODY"]);
        Assert.Equal("501 Invalid BODY parameter value. Must be 7BIT, 8BITMIME or BINARYMIME", (await client.CommandAsync("MAIL FROM:<a@example.com> BODY=BINARY")).Line);
    }

    [Fact]
    public async Task DATA_for_a_BINARYMIME_transaction_gets_503()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o => o.HideEnhancedStatusCodes = false);
        await using var client = await OpenAsync(server, mailParameters: " BODY=BINARYMIME");
        Assert.Equal("503 5.5.1 Error: BODY=BINARYMIME requires BDAT", (await client.CommandAsync("DATA")).Line);
        await client.SendBytesAsync(Chunk("ok", last: true));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
    }

    [Theory]
    [InlineData(false, 5, 3, "LIMITS RCPTMAX=5 MAILMAX=3")]
    [InlineData(false, 5, 0, "LIMITS RCPTMAX=5")]
    [InlineData(false, 0, 3, "LIMITS MAILMAX=3")]
    [InlineData(false, 0, 0, null)]
    [InlineData(true, 5, 3, null)]
    public async Task LIMITS_is_advertised_only_when_enabled_and_with_the_limits_that_are_set(bool hide, int maxRecipients, int maxTransactions, string? expected)
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideLimits = hide;
            o.MaxRecipients = maxRecipients;
            o.MaxTransactions = maxTransactions;
        });
        string reply = await RawEhlo(server);
        if (expected is null)
        {
            Assert.DoesNotContain("LIMITS", reply);
        }
        else
        {
            Assert.EndsWith("250 " + expected + "\r\n", reply);
        }
    }

    [Fact]
    public async Task MaxTransactions_answers_the_next_MAIL_with_421_and_closes()
    {
        var capture = new MessageCapture();
        await using var server = await StartAsync(capture, o =>
        {
            o.MaxTransactions = 2;
            o.HideEnhancedStatusCodes = false;
        });
        await using var client = await OpenAsync(server);
        await client.SendBytesAsync(Chunk("one", last: true));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);

        // A refused MAIL counts too: a pipelining client counts the commands it sends, not the replies.
        Assert.Equal(501, (await client.CommandAsync("MAIL FROM:<bad")).Code);
        Assert.Equal("421 4.7.0 Error: too many transactions on this connection", (await client.CommandAsync("MAIL FROM:<a@example.com>")).Line);
        Assert.True(await client.IsClosedAsync());
        Assert.Single(capture.Messages);
    }

    [Fact]
    public async Task MaxTransactions_must_not_be_negative()
    {
        var options = TestServer.Defaults(o => o.MaxTransactions = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpServer(options));
    }
}
