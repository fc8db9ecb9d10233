using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Server.Delivery;

/// <summary>
/// The trace header fields the store puts before each message (RFC 5321 §4.4): <c>Return-Path:</c> with the envelope
/// sender, then <c>Received:</c> with the HELO name, the client's host name and IP, the server name, the transmission
/// type, the message id and the date.
/// </summary>
internal static class TraceFields
{
    /// <summary>Builds the trace fields, CRLF-terminated, in UTF-8.</summary>
    /// <param name="session">The session of the transaction.</param>
    /// <param name="serverName">The server's name (<c>by</c>).</param>
    /// <param name="id">The message id.</param>
    /// <param name="date">The time of receipt.</param>
    public static byte[] Build(SmtpSession session, string serverName, string id, DateTimeOffset date)
    {
        bool utf8 = session.Envelope.SmtpUtf8;
        var text = new StringBuilder(256);
        text.Append("Return-Path: <");
        AppendClean(text, session.Envelope.MailFrom?.Address ?? "", utf8, allowComment: true);
        text.Append(">\r\nReceived: from ");
        AppendClean(text, session.HostNameAppearsAs ?? "unknown", utf8, allowComment: false);
        text.Append(" (");
        if (!session.ClientHostname.StartsWith('[') && session.ClientHostname.Length > 0)
        {
            AppendClean(text, session.ClientHostname, utf8, allowComment: false);
            text.Append(' ');
        }

        text.Append('[');
        if (session.RemoteAddress.Equals(IPAddress.None))
        {
            text.Append("unknown");
        }
        else
        {
            text.Append(session.RemoteAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6:" : "").Append(session.RemoteAddress);
        }

        text.Append("])\r\n\tby ").Append(serverName)
            .Append(" with ").Append(session.TransmissionType)
            .Append(" id ").Append(id)
            .Append(";\r\n\t").Append(date.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture))
            .Append("\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Copies client-supplied text so it cannot break the header: control characters, and outside addresses also
    /// spaces and comment delimiters, become <c>?</c>; non-ASCII stays only in SMTPUTF8 transactions.</summary>
    private static void AppendClean(StringBuilder text, string value, bool utf8, bool allowComment)
    {
        foreach (char c in value)
        {
            bool unsafeChar = char.IsControl(c) || (!utf8 && c > 0x7e) || (!allowComment && (c is ' ' or '(' or ')' or '\\'));
            text.Append(unsafeChar ? '?' : c);
        }
    }
}
