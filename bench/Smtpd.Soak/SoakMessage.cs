using System.Text;

namespace Smtpd.Soak;

/// <summary>
/// A message of about the requested size on the wire, dot-stuffed and ending with the terminating dot, with a
/// nine-digit soak id in its <c>X-Soak-Id:</c> field that <see cref="WriteId"/> rewrites in place (one buffer per client).
/// </summary>
internal sealed class SoakMessage
{
    private readonly int _idOffset;

    public SoakMessage(int bytes)
    {
        var text = new StringBuilder();
        text.Append("From: <soak@client.test>\r\nTo: <rcpt@soak.test>\r\nSubject: soak\r\n");
        _idOffset = text.Length + SoakServer.IdField.Length;
        text.Append(SoakServer.IdField).Append("000000000\r\n\r\n");
        for (int line = 0; text.Length < bytes; line++)
        {
            // Every fifth line starts with a dot: sent stuffed, as RFC 5321 says.
            text.Append(line % 5 == 0 ? ".." : "").Append("The quick brown fox jumps over the lazy dog, line ").Append(line).Append(".\r\n");
        }

        text.Append(".\r\n");
        Bytes = Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>The wire form, terminating dot included.</summary>
    public byte[] Bytes { get; }

    public void WriteId(int id)
    {
        for (int i = 8; i >= 0; i--)
        {
            Bytes[_idOffset + i] = (byte)('0' + (id % 10));
            id /= 10;
        }
    }
}
