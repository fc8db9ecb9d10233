using System.Buffers.Binary;
using System.Text;

namespace Smtpd;

/// <summary>Recognises the command verb of a line without allocating: the text before the first space, case-insensitively.</summary>
internal static class CommandParser
{
    /// <summary>The names of <see cref="SmtpCommand"/> values as they appear on the wire (and in <see cref="SmtpServerOptions.DisabledCommands"/>).</summary>
    public static readonly string[] Names =
        ["", "HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "HELP", "STARTTLS", "AUTH", "XCLIENT", "XFORWARD", "WIZ", "SHELL", "KILL", "BDAT"];

    private const uint Lower4 = 0x20202020;

    /// <summary>Identifies the verb of <paramref name="line"/> (without its line ending).</summary>
    /// <param name="line">The command line.</param>
    /// <param name="verbLength">The length of the verb (bytes before the first space, or the whole line).</param>
    public static SmtpCommand Identify(ReadOnlySpan<byte> line, out int verbLength)
    {
        int space = line.IndexOf((byte)' ');
        verbLength = space < 0 ? line.Length : space;
        ReadOnlySpan<byte> verb = line[..verbLength];
        switch (verb.Length)
        {
            case 3:
                return Equals3(verb, "wiz"u8) ? SmtpCommand.Wiz : SmtpCommand.Unknown;
            case 4:
                // Lower-casing with | 0x20 maps letters only; the exact match below keeps non-letters out.
                uint v = BinaryPrimitives.ReadUInt32LittleEndian(verb) | Lower4;
                SmtpCommand candidate = v switch
                {
                    0x6f6c6568 => SmtpCommand.Helo, // "helo"
                    0x6f6c6865 => SmtpCommand.Ehlo, // "ehlo"
                    0x6f6c686c => SmtpCommand.Lhlo, // "lhlo"
                    0x6c69616d => SmtpCommand.Mail, // "mail"
                    0x74706372 => SmtpCommand.Rcpt, // "rcpt"
                    0x61746164 => SmtpCommand.Data, // "data"
                    0x74657372 => SmtpCommand.Rset, // "rset"
                    0x706f6f6e => SmtpCommand.Noop, // "noop"
                    0x74697571 => SmtpCommand.Quit, // "quit"
                    0x79667276 => SmtpCommand.Vrfy, // "vrfy"
                    0x706c6568 => SmtpCommand.Help, // "help"
                    0x68747561 => SmtpCommand.Auth, // "auth"
                    0x6c6c696b => SmtpCommand.Kill, // "kill"
                    0x74616462 => SmtpCommand.Bdat, // "bdat"
                    _ => SmtpCommand.Unknown,
                };
                return candidate != SmtpCommand.Unknown && AllLetters(verb) ? candidate : SmtpCommand.Unknown;
            case 5:
                return Ascii.EqualsIgnoreCase(verb, "SHELL"u8) ? SmtpCommand.Shell : SmtpCommand.Unknown;
            case 7:
                return Ascii.EqualsIgnoreCase(verb, "XCLIENT"u8) ? SmtpCommand.XClient : SmtpCommand.Unknown;
            case 8:
                return Ascii.EqualsIgnoreCase(verb, "STARTTLS"u8) ? SmtpCommand.StartTls
                    : Ascii.EqualsIgnoreCase(verb, "XFORWARD"u8) ? SmtpCommand.XForward
                    : SmtpCommand.Unknown;
            default:
                return SmtpCommand.Unknown;
        }
    }

    /// <summary>The upper-cased verb as a string (for logs and per-session disabled lists; not on hot paths).</summary>
    public static string VerbText(ReadOnlySpan<byte> line, int verbLength) =>
        Encoding.UTF8.GetString(line[..verbLength]).ToUpperInvariant();

    private static bool Equals3(ReadOnlySpan<byte> verb, ReadOnlySpan<byte> lower) => Ascii.EqualsIgnoreCase(verb, lower);

    private static bool AllLetters(ReadOnlySpan<byte> verb)
    {
        foreach (byte b in verb)
        {
            if ((uint)((b | 0x20) - 'a') > 'z' - 'a')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Is <paramref name="line"/> an HTTP request line (<c>GET /path HTTP/1.1</c>)? Checked only for unknown verbs.</summary>
    public static bool IsHttpRequest(ReadOnlySpan<byte> line, int verbLength)
    {
        ReadOnlySpan<byte> verb = line[..verbLength];
        bool httpVerb = Ascii.EqualsIgnoreCase(verb, "GET"u8) || Ascii.EqualsIgnoreCase(verb, "POST"u8) || Ascii.EqualsIgnoreCase(verb, "HEAD"u8)
            || Ascii.EqualsIgnoreCase(verb, "PUT"u8) || Ascii.EqualsIgnoreCase(verb, "DELETE"u8) || Ascii.EqualsIgnoreCase(verb, "OPTIONS"u8)
            || Ascii.EqualsIgnoreCase(verb, "TRACE"u8) || Ascii.EqualsIgnoreCase(verb, "CONNECT"u8);
        if (!httpVerb || line.Length < verbLength + 2 || line[verbLength + 1] != (byte)'/')
        {
            return false;
        }

        // ... " HTTP/d.d" at the end (case-insensitive).
        if (line.Length < verbLength + 2 + 9)
        {
            return false;
        }

        ReadOnlySpan<byte> tail = line[^9..];
        return tail[0] == (byte)' ' && Ascii.EqualsIgnoreCase(tail.Slice(1, 5), "HTTP/"u8)
            && char.IsAsciiDigit((char)tail[6]) && tail[7] == (byte)'.' && char.IsAsciiDigit((char)tail[8]);
    }
}
