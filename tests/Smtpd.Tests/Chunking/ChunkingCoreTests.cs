using Smtpd.Tests.Core;

namespace Smtpd.Tests.Chunking;

/// <summary>BDAT in the protocol core, without sockets: the command unit, the chunk hand-off to the handler, the replies.</summary>
public class ChunkingCoreTests
{
    [Fact]
    public async Task A_chunked_message_line_by_line()
    {
        string? body = null;
        await using ProtocolHarness session = ProtocolHarness.Create(o =>
        {
            o.AuthOptional = true;
            o.HideChunking = false;
            o.OnData = async (message, s, ct) =>
            {
                using var reader = new StreamReader(message);
                body = await reader.ReadToEndAsync(ct);
                return SmtpResult.Accept("Queued");
            };
        });
        Assert.EndsWith("250-CHUNKING\r\n250 BINARYMIME", await session.SendAsync("EHLO client.example"));
        Assert.Equal("250 Accepted", await session.SendAsync("MAIL FROM:<a@example.com> BODY=BINARYMIME"));
        Assert.Equal("250 Accepted", await session.SendAsync("RCPT TO:<r@example.org>"));
        Assert.Equal("", await session.SendAsync("BDAT 9"));
        Assert.Equal("250 OK: 9 octets received", await session.SendChunkAsync("..x\r\n.\r\n!"));
        Assert.Equal(Outcome.Continue, session.LastOutcome);
        Assert.Equal("", await session.SendAsync("bdat 4 LAST"));
        Assert.Equal("250 Queued", await session.SendChunkAsync("QUIT"));
        Assert.Equal("..x\r\n.\r\n!QUIT", body);
        Assert.Equal(2, session.Session.Transaction);
        Assert.Null(session.Protocol.Transaction.Chunks);
    }

    [Theory]
    [InlineData("0", 0L, false)]
    [InlineData("  12   LAST ", 12L, true)]
    [InlineData("9223372036854775807 last", long.MaxValue, true)]
    public void Sizes_and_the_LAST_marker_parse(string arguments, long size, bool last)
    {
        Assert.True(BdatCommand.TryParse(System.Text.Encoding.ASCII.GetBytes(arguments), out long parsedSize, out bool parsedLast));
        Assert.Equal((size, last), (parsedSize, parsedLast));
    }
}
