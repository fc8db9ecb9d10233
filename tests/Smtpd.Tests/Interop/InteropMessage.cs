using System.Text;

namespace Smtpd.Tests.Interop;

/// <summary>
/// The message every matrix cell sends: CRLF line endings, a unique Message-ID, and body lines that start with dots
/// (the client must dot-stuff them and the server must unstuff them for the bytes to arrive as sent).
/// </summary>
public static class InteropMessage
{
    public const string Sender = "sender@client.example";
    public const string Recipient = "rcpt@mx.example";

    /// <summary>The message bytes for a cell, tagged with <paramref name="tag"/> in its subject and Message-ID.</summary>
    public static byte[] Create(string tag)
    {
        string id = Guid.NewGuid().ToString("n");
        return Encoding.ASCII.GetBytes(
            $"From: Sender <{Sender}>\r\n" +
            $"To: Recipient <{Recipient}>\r\n" +
            $"Subject: interop {tag}\r\n" +
            "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n" +
            $"Message-ID: <{id}@client.example>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=us-ascii\r\n" +
            "\r\n" +
            $"Hello from {tag}.\r\n" +
            ".a line that starts with a dot\r\n" +
            "..two dots\r\n" +
            "\r\n" +
            "The end.\r\n");
    }

    /// <summary>The bytes after the header fields a relay prepends (Postfix adds <c>Received:</c>): everything from the first <c>From:</c> field.</summary>
    public static byte[] FromOriginalHeaders(byte[] content)
    {
        int start = Encoding.ASCII.GetString(content).IndexOf("From: Sender", StringComparison.Ordinal);
        Assert.True(start >= 0, "the original header fields are missing: " + Encoding.UTF8.GetString(content));
        return content[start..];
    }
}
