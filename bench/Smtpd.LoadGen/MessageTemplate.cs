using System.Text;

namespace Smtpd.LoadGen;

/// <summary>Every byte the generator sends, encoded once: commands, the pipelined group and the message with its terminator.</summary>
internal sealed class MessageTemplate
{
    private const string Sender = "loadgen@example.com";

    public MessageTemplate(int size, int recipients, int chunkSize = 0)
    {
        Ehlo = Ascii("EHLO loadgen.example\r\n");
        StartTls = Ascii("STARTTLS\r\n");
        Mail = Ascii($"MAIL FROM:<{Sender}>\r\n");
        Rcpt = new byte[recipients][];
        for (int i = 0; i < recipients; i++)
        {
            Rcpt[i] = Ascii(i == 0 ? "RCPT TO:<sink@example.com>\r\n" : $"RCPT TO:<sink{i}@example.com>\r\n");
        }

        Data = Ascii("DATA\r\n");
        Rset = Ascii("RSET\r\n");
        Quit = Ascii("QUIT\r\n");
        Group = [.. Mail, .. Rcpt.SelectMany(r => r), .. Data];
        MessageSize = size;
        Body = BuildBody(size);
        (Chunks, ChunkCount) = BuildChunks(Body.AsSpan(0, size), chunkSize <= 0 ? size : chunkSize);
        BdatGroup = [.. Mail, .. Rcpt.SelectMany(r => r), .. Chunks];
    }

    public byte[] Ehlo { get; }

    public byte[] StartTls { get; }

    public byte[] Mail { get; }

    public byte[][] Rcpt { get; }

    public byte[] Data { get; }

    public byte[] Rset { get; }

    public byte[] Quit { get; }

    /// <summary>MAIL, every RCPT and DATA in one buffer: the RFC 2920 command group.</summary>
    public byte[] Group { get; }

    /// <summary>The message (exactly <see cref="MessageSize"/> bytes, CRLF line endings, no line starting with a dot) followed by <c>.CRLF</c>.</summary>
    public byte[] Body { get; }

    /// <summary>Message bytes per transaction, without the terminator.</summary>
    public int MessageSize { get; }

    /// <summary>The message as BDAT commands with their chunks (the last with <c>LAST</c>), no terminator, no dot-stuffing.</summary>
    public byte[] Chunks { get; }

    /// <summary>The number of BDAT commands in <see cref="Chunks"/> (one reply each).</summary>
    public int ChunkCount { get; }

    /// <summary>MAIL, every RCPT and the BDAT chunks in one buffer (the pipelined form with BDAT).</summary>
    public byte[] BdatGroup { get; }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static (byte[] Framed, int Count) BuildChunks(ReadOnlySpan<byte> message, int chunkSize)
    {
        var framed = new List<byte>(message.Length + 64);
        int count = 0;
        int offset = 0;
        do
        {
            int length = Math.Min(chunkSize, message.Length - offset);
            bool last = offset + length == message.Length;
            framed.AddRange(Ascii(last ? $"BDAT {length} LAST\r\n" : $"BDAT {length}\r\n"));
            framed.AddRange(message.Slice(offset, length));
            offset += length;
            count++;
        }
        while (offset < message.Length);
        return ([.. framed], count);
    }

    private static byte[] BuildBody(int size)
    {
        var text = new StringBuilder(size + 8);
        text.Append("From: LoadGen <").Append(Sender).Append(">\r\n")
            .Append("To: Sink <sink@example.com>\r\n")
            .Append("Subject: Smtpd benchmark message\r\n")
            .Append("Message-ID: <bench@loadgen.example>\r\n")
            .Append("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append("Content-Type: text/plain; charset=us-ascii\r\n")
            .Append("\r\n");
        if (text.Length + 2 > size)
        {
            // Tiny messages: a single header line and an empty body.
            text.Clear().Append("Subject: x\r\n\r\n");
        }

        const string Filler = "The quick brown fox jumps over the lazy dog while the mail server counts bytes. ";
        int column = 0;
        while (text.Length < size)
        {
            int left = size - text.Length;
            if (left <= 2 || column == 76)
            {
                // Close the line; the last line always ends with CRLF.
                if (left == 1)
                {
                    // One byte left: lengthen the previous line by one instead of writing a bare CR.
                    text.Insert(text.Length - 2, 'x');
                    break;
                }

                text.Append("\r\n");
                column = 0;
                continue;
            }

            // Every line starts with 'T': no dot-stuffing is needed.
            text.Append(Filler[column % Filler.Length]);
            column++;
        }

        text.Append(".\r\n");
        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        if (bytes.Length != size + 3)
        {
            throw new InvalidOperationException($"message template is {bytes.Length - 3} bytes, expected {size}");
        }

        return bytes;
    }
}
