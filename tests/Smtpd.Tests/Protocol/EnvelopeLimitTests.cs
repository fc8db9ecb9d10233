using Smtpd.Tests.Core;

namespace Smtpd.Tests.Protocol;

/// <summary>The bound on one transaction's envelope (issue 12 item 4; RFC 5321 §4.5.3.1.10).</summary>
public class EnvelopeLimitTests
{
    /// <summary>A RCPT line of about 16 KB: an ORCPT parameter near the command-line limit.</summary>
    private static string LongRcpt(int i) => $"RCPT TO:<r{i}@example.org> ORCPT=rfc822;{new string('a', 16000)}";

    private static ProtocolHarness Session(Action<SmtpServerOptions>? configure = null) => ProtocolHarness.Create(o =>
    {
        o.AuthOptional = true;
        o.HideDsn = false;
        configure?.Invoke(o);
    });

    [Fact]
    public async Task By_default_the_RCPT_that_would_take_the_envelope_past_1_MiB_gets_452_and_the_transaction_goes_on()
    {
        int seen = 0;
        await using ProtocolHarness session = Session(o => o.OnData = async (message, s, ct) =>
        {
            await message.CopyToAsync(Stream.Null, ct);
            seen = s.Envelope.RcptTo.Count;
            return SmtpResult.Accept();
        });
        await session.SendAsync("EHLO client.example");
        Assert.Equal("250 Accepted", await session.SendAsync("MAIL FROM:<a@example.com>"));
        int accepted = 0;
        string reply;
        while ((reply = await session.SendAsync(LongRcpt(accepted))) == "250 Accepted")
        {
            accepted++;
            Assert.True(accepted < 200, "no bound on the envelope");
        }

        Assert.Equal("452 Error: too many recipients", reply);
        Assert.Equal(1024 * 1024 / LongRcpt(0).Length, accepted);

        // A short recipient still fits; the message goes to those accepted.
        Assert.Equal("250 Accepted", await session.SendAsync("RCPT TO:<short@example.org>"));
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", await session.SendAsync("DATA"));
        Assert.Equal("250 OK: message queued", await session.SendMessageAsync("Subject: x\r\n\r\nhi\r\n.\r\n"));
        Assert.Equal(accepted + 1, seen);

        // The next transaction starts from an empty envelope.
        Assert.Equal("250 Accepted", await session.SendAsync("MAIL FROM:<a@example.com>"));
        Assert.Equal("250 Accepted", await session.SendAsync(LongRcpt(0)));
    }

    [Fact]
    public async Task RSET_empties_the_envelope()
    {
        await using ProtocolHarness session = Session(o => o.MaxEnvelopeSize = 40_000);
        await session.SendAsync("EHLO client.example");
        await session.SendAsync("MAIL FROM:<a@example.com>");
        Assert.Equal("250 Accepted", await session.SendAsync(LongRcpt(0)));
        Assert.Equal("250 Accepted", await session.SendAsync(LongRcpt(1)));
        Assert.Equal("452 Error: too many recipients", await session.SendAsync(LongRcpt(2)));
        Assert.Equal("250 Flushed", await session.SendAsync("RSET"));
        await session.SendAsync("MAIL FROM:<a@example.com>");
        Assert.Equal("250 Accepted", await session.SendAsync(LongRcpt(2)));
    }

    [Fact]
    public async Task A_MAIL_line_longer_than_the_bound_gets_552_and_0_means_no_bound()
    {
        await using (ProtocolHarness session = Session(o =>
        {
            o.MaxEnvelopeSize = 80;
            o.HideEnhancedStatusCodes = false;
        }))
        {
            await session.SendAsync("EHLO client.example");
            Assert.Equal("552 5.3.4 Error: envelope too large", await session.SendAsync("MAIL FROM:<a@example.com> ENVID=" + new string('e', 60)));
            Assert.Equal("250 2.1.0 Accepted", await session.SendAsync("MAIL FROM:<a@example.com>"));
            Assert.Equal("250 2.1.5 Accepted", await session.SendAsync("RCPT TO:<r@example.org>"));
            Assert.Equal("452 4.5.3 Error: too many recipients", await session.SendAsync("RCPT TO:<r2@example.org> NOTIFY=SUCCESS,FAILURE"));
        }

        await using (ProtocolHarness session = Session(o => o.MaxEnvelopeSize = 0))
        {
            await session.SendAsync("EHLO client.example");
            await session.SendAsync("MAIL FROM:<a@example.com>");
            for (int i = 0; i < 80; i++)
            {
                Assert.Equal("250 Accepted", await session.SendAsync(LongRcpt(i)));
            }
        }
    }

    [Fact]
    public void A_negative_bound_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpServer(new SmtpServerOptions { MaxEnvelopeSize = -1 }));
}
