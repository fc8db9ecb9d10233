using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Smtpd;

/// <summary>Formats SMTP replies into bytes: <c>code[ enhanced][ text]CRLF</c>, with control characters in the text replaced by spaces.</summary>
internal static class ReplyWriter
{
    /// <summary>Encodes one reply line once, for the pre-encoded reply table.</summary>
    public static byte[] Encode(int code, string? enhancedCode, string text, bool continuation = false)
    {
        var buffer = new ArrayBufferWriter<byte>(16 + text.Length * 3);
        Write(buffer, code, enhancedCode, text, continuation);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes one reply line.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="code">The three-digit reply code.</param>
    /// <param name="enhancedCode">The enhanced code to include, or <see langword="null"/>.</param>
    /// <param name="text">The text (may be empty).</param>
    /// <param name="continuation">Write <c>code-</c> (a line of a multi-line reply that is not the last).</param>
    public static void Write(IBufferWriter<byte> writer, int code, string? enhancedCode, ReadOnlySpan<char> text, bool continuation = false)
    {
        int max = 3 + 1 + (enhancedCode?.Length + 1 ?? 0) + Encoding.UTF8.GetMaxByteCount(text.Length) + 2;
        Span<byte> span = writer.GetSpan(max);
        Utf8Formatter.TryFormat(code, span, out int n);
        if (enhancedCode is not null || text.Length > 0 || continuation)
        {
            span[n++] = continuation ? (byte)'-' : (byte)' ';
        }

        if (enhancedCode is not null)
        {
            n += Encoding.ASCII.GetBytes(enhancedCode, span[n..]);
            if (text.Length > 0)
            {
                span[n++] = (byte)' ';
            }
        }

        int start = n;
        n += Encoding.UTF8.GetBytes(text, span[n..]);
        Sanitize(span[start..n]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        writer.Advance(n);
    }

    /// <summary>Replaces control characters (C0, DEL, and the UTF-8 encoding of C1) by spaces so text can never split a reply.</summary>
    private static void Sanitize(Span<byte> utf8)
    {
        for (int i = 0; i < utf8.Length; i++)
        {
            byte b = utf8[i];
            if (b < 0x20 || b == 0x7F)
            {
                utf8[i] = (byte)' ';
            }
            else if (b == 0xC2 && i + 1 < utf8.Length && utf8[i + 1] is >= 0x80 and <= 0x9F)
            {
                // A C1 control (U+0080–U+009F) is two bytes; keep the length stable with two spaces.
                utf8[i] = (byte)' ';
                utf8[++i] = (byte)' ';
            }
        }
    }
}
