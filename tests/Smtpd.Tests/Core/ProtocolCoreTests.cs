using System.Net;
using System.Text;

namespace Smtpd.Tests.Core;

/// <summary>The protocol core driven line by line, without sockets (<see cref="ProtocolHarness"/>).</summary>
public class ProtocolCoreTests
{
    private static ProtocolHarness Mx(Action<SmtpServerOptions>? configure = null) => ProtocolHarness.Create(o =>
    {
        o.AuthOptional = true;
        configure?.Invoke(o);
    });

    [Fact]
    public async Task A_whole_transaction_line_by_line()
    {
        SmtpEnvelope? seen = null;
        string? body = null;
        await using ProtocolHarness session = Mx(o => o.OnData = async (message, s, ct) =>
        {
            using var reader = new StreamReader(message);
            body = await reader.ReadToEndAsync(ct);
            seen = s.Envelope;
            return SmtpResult.Accept("Queued as 1");
        });
        Assert.Equal("503 Error: send HELO/EHLO first", await session.SendAsync("MAIL FROM:<a@example.com>"));
        Assert.StartsWith("250-mx.test Nice to meet you, [127.0.0.1]\r\n250-PIPELINING", await session.SendAsync("EHLO client.example"));
        Assert.Equal("250 Accepted", await session.SendAsync("MAIL FROM:<a@example.com> BODY=8BITMIME"));
        Assert.Equal("250 Accepted", await session.SendAsync("RCPT TO:<r@example.org>"));
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", await session.SendAsync("DATA"));
        Assert.Equal(Outcome.ReceiveMessage, session.LastOutcome);
        Assert.Equal("250 Queued as 1", await session.SendMessageAsync("Subject: core\r\n\r\n..dot\r\n.\r\n"));
        Assert.Equal("Subject: core\r\n\r\n.dot\r\n", body);
        Assert.Equal(("a@example.com", "8bitmime", 1), (seen!.MailFrom!.Address, seen.BodyType, seen.RcptTo.Count));
        Assert.Equal(2, session.Session.Transaction);
        Assert.Equal("221 Bye", await session.SendAsync("QUIT"));
        Assert.Equal(Outcome.Close, session.LastOutcome);
    }

    [Fact]
    public async Task RSET_is_the_one_reset_and_LMTP_answers_only_the_recipients_of_the_message()
    {
        await using ProtocolHarness session = ProtocolHarness.Create(o =>
        {
            o.Lmtp = true;
            o.DisabledCommands = ["AUTH"];
        });
        await session.SendAsync("LHLO client.example");
        await session.SendAsync("MAIL FROM:<a@example.com>");
        await session.SendAsync("RCPT TO:<x@example.org>");
        await session.SendAsync("RCPT TO:<x@example.org>");
        Assert.Equal(2, session.Protocol.Transaction.LmtpReplies.Count);
        Assert.Equal("250 Flushed", await session.SendAsync("RSET"));
        Assert.False(session.Protocol.Transaction.HasSender);
        Assert.Empty(session.Protocol.Transaction.LmtpReplies);
        Assert.False(session.Protocol.Transaction.ClientIsSending);
        await session.SendAsync("MAIL FROM:<a@example.com>");
        await session.SendAsync("RCPT TO:<y@example.org>");
        await session.SendAsync("DATA");
        Assert.Equal("250 OK: message accepted", await session.SendMessageAsync("x\r\n.\r\n"));
        Assert.True(session.Protocol.Transaction.ClientIsSending, "after a message the next command is read at once");
    }

    [Fact]
    public async Task A_refused_MAIL_proposes_its_envelope_to_the_handler_and_leaves_nothing()
    {
        var proposed = new List<(bool SmtpUtf8, string Body)>();
        await using ProtocolHarness session = Mx(o => o.OnMailFrom = (address, s, ct) =>
        {
            proposed.Add((s.Envelope.SmtpUtf8, s.Envelope.BodyType));
            return new(address.Address == "deny@example.com" ? SmtpResult.Reject(550, "No") : SmtpResult.Accept());
        });
        await session.SendAsync("EHLO client.example");
        Assert.Equal("550 No", await session.SendAsync("MAIL FROM:<deny@example.com> SMTPUTF8 BODY=8BITMIME"));
        Assert.False(session.Protocol.Transaction.HasSender);
        Assert.False(session.Session.Envelope.SmtpUtf8);
        Assert.Equal("250 Accepted", await session.SendAsync("MAIL FROM:<ok@example.com>"));
        Assert.Equal([(true, "8bitmime"), (false, "7bit")], proposed);
        Assert.False(session.Session.Envelope.SmtpUtf8);
    }

    [Fact]
    public async Task Duplicate_recipients_are_found_case_insensitively_beyond_the_scan_limit()
    {
        await using ProtocolHarness session = Mx(o =>
        {
            o.MaxRecipients = 40;
            o.HideDsn = false;
        });
        await session.SendAsync("EHLO client.example");
        await session.SendAsync("MAIL FROM:<a@example.com>");
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal("250 Accepted", await session.SendAsync($"RCPT TO:<r{i}@example.org>"));
        }

        Assert.Equal("452 Error: too many recipients", await session.SendAsync("RCPT TO:<r40@example.org>"));
        Assert.Equal("250 Accepted", await session.SendAsync("RCPT TO:<R3@EXAMPLE.ORG> NOTIFY=NEVER"));
        IReadOnlyList<SmtpAddress> recipients = session.Session.Envelope.RcptTo;
        Assert.Equal(40, recipients.Count);
        Assert.Equal("R3@EXAMPLE.ORG", recipients[3].Address);
        Assert.Equal(3, session.Protocol.Transaction.IndexOfRecipient("r3@example.org"));
        Assert.Equal(-1, session.Protocol.Transaction.IndexOfRecipient("r40@example.org"));
    }

    [Fact]
    public async Task Handler_failures_are_451_and_a_421_closes()
    {
        await using ProtocolHarness session = Mx(o =>
        {
            o.OnMailFrom = (a, s, ct) => a.Address switch
            {
                "io@example.com" => throw new IOException("disk"),
                "smtp@example.com" => throw new SmtpException(553, "Policy", "5.7.1"),
                "bye@example.com" => new(SmtpResult.Reject(421, "Go away")),
                _ => default,
            };
        });
        await session.SendAsync("EHLO client.example");
        Assert.Equal("451 Error: internal server error", await session.SendAsync("MAIL FROM:<io@example.com>"));
        Assert.Equal("553 Policy", await session.SendAsync("MAIL FROM:<smtp@example.com>"));
        Assert.Equal("553 Policy", session.Session.Error);
        Assert.Equal("421 Go away", await session.SendAsync("MAIL FROM:<bye@example.com>"));
        Assert.Equal(Outcome.Close, session.LastOutcome);
    }

    [Fact]
    public async Task STARTTLS_asks_the_loop_for_the_handshake_and_AUTH_waits_for_it()
    {
        await using ProtocolHarness session = ProtocolHarness.Create();
        Assert.Contains("250 STARTTLS", await session.SendAsync("EHLO client.example"));
        Assert.Equal("538 Error: Must issue a STARTTLS command first", await session.SendAsync("AUTH PLAIN"));
        Assert.Equal("220 Ready to start TLS", await session.SendAsync("STARTTLS"));
        Assert.Equal(Outcome.StartTls, session.LastOutcome);
    }

    [Fact]
    public async Task An_AUTH_exchange_spans_lines_and_its_lines_are_never_commands()
    {
        await using ProtocolHarness session = ProtocolHarness.Create(o =>
        {
            o.AllowInsecureAuth = true;
            o.OnAuth = new SmtpPasswordAuthenticator([new("alice", "wonderland")]).AuthenticateAsync;
        });
        await session.SendAsync("EHLO client.example");
        Assert.Equal("334 VXNlcm5hbWU6", await session.SendAsync("AUTH LOGIN"));
        Assert.Equal("334 UGFzc3dvcmQ6", await session.SendAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes("alice"))));
        Assert.True(session.Protocol.Auth!.IsWaitingForClient);
        Assert.Equal("235 Authentication successful", await session.SendAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes("wonderland"))));
        Assert.Equal("alice", session.Session.User);
        Assert.Equal("ESMTPA", session.Session.TransmissionType);
    }

    [Fact]
    public async Task XCLIENT_ADDR_is_another_client_that_must_greet_again()
    {
        await using ProtocolHarness session = ProtocolHarness.Create(o =>
        {
            o.AuthOptional = true;
            o.UseXClient = TrustedPeers.Of(["127.0.0.1"]);
        });
        Assert.Contains("XCLIENT NAME ADDR", await session.SendAsync("EHLO proxy.example"));
        Assert.Equal("220 mx.test ESMTP", await session.SendAsync("XCLIENT ADDR=192.0.2.7 NAME=client.example"));
        Assert.Equal((IPAddress.Parse("192.0.2.7"), "client.example"), (session.Session.RemoteAddress, session.Session.ClientHostname));
        Assert.Null(session.Session.HostNameAppearsAs);
        Assert.Equal("503 Error: send HELO/EHLO first", await session.SendAsync("MAIL FROM:<a@example.com>"));
        Assert.DoesNotContain("XCLIENT", await session.SendAsync("EHLO client.example"));
    }

    [Fact]
    public async Task Unknown_commands_count_towards_the_limit_and_a_message_resets_the_count()
    {
        await using ProtocolHarness session = Mx(o => o.MaxUnrecognizedCommands = 3);
        await session.SendAsync("EHLO client.example");
        Assert.Equal("500 Error: command not recognized", await session.SendAsync("FOO"));
        Assert.Equal("500 Error: command not recognized", await session.SendAsync("BAR"));
        await session.SendAsync("MAIL FROM:<a@example.com>");
        await session.SendAsync("RCPT TO:<r@example.org>");
        await session.SendAsync("DATA");
        await session.SendMessageAsync(".\r\n");
        Assert.Equal("500 Error: command not recognized", await session.SendAsync("BAZ"));
        Assert.Equal("500 Error: command not recognized", await session.SendAsync("QUX"));
        Assert.Equal("421 Error: too many unrecognized commands", await session.SendAsync("QUUX"));
        Assert.Equal(Outcome.Close, session.LastOutcome);
    }
}
