using System.Text;
using Microsoft.Extensions.Logging;

namespace Smtpd.Tests.Chunking;

/// <summary>A real MTA sending with BDAT: Exim delivering to Smtpd with CHUNKING on.</summary>
public class EximChunkingTests
{
    [Fact]
    public async Task Exim_delivers_with_BDAT_and_the_handler_gets_the_message_unstuffed()
    {
        var logger = new ListLogger { MinimumLevel = LogLevel.Debug };
        var capture = new MessageCapture();
        await using var server = await ChunkingServer.StartAsync(capture, o => o.Logger = logger);

        // A small message (one BDAT LAST) and a large one (Exim sends its header and its body as separate chunks).
        string small = "Subject: from exim\n\nHello over BDAT\n.line with a dot\n..two dots\n";
        string large = "Subject: large from exim\n\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => (i % 7 == 0 ? "." : "") + $"line {i:D6} {new string('x', 60)}\n"));
        string smallDialogue = await EximClient.SendAsync(server.EndPoint, "sender@example.com", "rcpt@example.org", small);
        string largeDialogue = await EximClient.SendAsync(server.EndPoint, "sender@example.com", "rcpt@example.org", large);
        Assert.Contains("will write message using CHUNKING", smallDialogue);
        Assert.Contains("BDAT", largeDialogue);

        IReadOnlyList<byte[]> messages = capture.Messages;
        Assert.Equal(2, messages.Count);
        Assert.EndsWith("\r\n\r\n" + small[(small.IndexOf("\n\n", StringComparison.Ordinal) + 2)..].ReplaceLineEndings("\r\n"), Encoding.ASCII.GetString(messages[0]));
        Assert.EndsWith("\r\n\r\n" + large[(large.IndexOf("\n\n", StringComparison.Ordinal) + 2)..].ReplaceLineEndings("\r\n"), Encoding.ASCII.GetString(messages[1]));
        Assert.Contains("Subject: large from exim\r\n", Encoding.ASCII.GetString(messages[1]));

        // The server saw BDAT, never DATA; the large message came in more than one chunk.
        string[] commands = [.. logger.Entries.Where(e => e.EventId.Name == "Command").Select(e => e.Message.Split(" C: ", 2)[1])];
        Assert.DoesNotContain(commands, c => c.StartsWith("DATA", StringComparison.OrdinalIgnoreCase));
        Assert.True(commands.Count(c => c.StartsWith("BDAT", StringComparison.Ordinal)) >= 3, string.Join(" | ", commands));
        Assert.Equal(2, commands.Count(c => c.StartsWith("BDAT", StringComparison.Ordinal) && c.EndsWith(" LAST", StringComparison.Ordinal)));
    }
}
