using System.Globalization;
using MimeKit;

namespace Smtpd.Testing;

/// <summary>
/// A message the <see cref="SmtpTestServer"/> accepted: the SMTP envelope, the session it came in, the raw bytes and the
/// message parsed with MimeKit. The <c>Assert…</c> methods throw <see cref="SmtpAssertionException"/> when the message
/// differs and return the message, so they chain.
/// </summary>
public sealed class ReceivedMessage
{
    internal ReceivedMessage(string from, IReadOnlyList<string> to, byte[] raw, SmtpSession session, DateTimeOffset receivedAt)
    {
        From = from;
        To = to;
        Raw = raw;
        Message = MimeMessage.Load(new MemoryStream(raw, writable: false));
        ClientHostname = session.HostNameAppearsAs ?? "";
        User = session.User?.ToString();
        Secure = session.Secure;
        ReceivedAt = receivedAt;
    }

    /// <summary>The envelope sender (<c>MAIL FROM</c>); empty for the null sender <c>&lt;&gt;</c>.</summary>
    public string From { get; }

    /// <summary>The envelope recipients (<c>RCPT TO</c>) the server accepted, in order.</summary>
    public IReadOnlyList<string> To { get; }

    /// <summary>The message as the client sent it, after dot-unstuffing.</summary>
    public byte[] Raw { get; }

    /// <summary>The message parsed by MimeKit: headers, body parts, attachments.</summary>
    public MimeMessage Message { get; }

    /// <summary>The <c>Subject</c> header.</summary>
    public string? Subject => Message.Subject;

    /// <summary>The text body (the <c>text/plain</c> part), if any.</summary>
    public string? TextBody => Message.TextBody;

    /// <summary>The HTML body (the <c>text/html</c> part), if any.</summary>
    public string? HtmlBody => Message.HtmlBody;

    /// <summary>The name the client gave in <c>EHLO</c>/<c>HELO</c>.</summary>
    public string ClientHostname { get; }

    /// <summary>The authenticated user name, or <see langword="null"/> without AUTH.</summary>
    public string? User { get; }

    /// <summary>Whether the message came over TLS.</summary>
    public bool Secure { get; }

    /// <summary>When the end of the message arrived.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>Checks the envelope sender (case-insensitive).</summary>
    /// <param name="address">The expected <c>MAIL FROM</c> address.</param>
    /// <returns>This message.</returns>
    public ReceivedMessage AssertFrom(string address) =>
        string.Equals(From, address, StringComparison.OrdinalIgnoreCase) ? this : throw Failed($"envelope sender <{address}>", $"<{From}>");

    /// <summary>Checks that the envelope recipients are exactly <paramref name="addresses"/>, in any order (case-insensitive).</summary>
    /// <param name="addresses">The expected <c>RCPT TO</c> addresses.</param>
    /// <returns>This message.</returns>
    public ReceivedMessage AssertTo(params string[] addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        bool same = addresses.Length == To.Count && addresses.All(a => To.Contains(a, StringComparer.OrdinalIgnoreCase));
        return same ? this : throw Failed($"envelope recipients {List(addresses)}", List(To));
    }

    /// <summary>Checks the subject.</summary>
    /// <param name="subject">The expected subject.</param>
    /// <returns>This message.</returns>
    public ReceivedMessage AssertSubject(string subject) =>
        Subject == subject ? this : throw Failed($"subject \"{subject}\"", $"\"{Subject}\"");

    /// <summary>Checks that the text or the HTML body contains <paramref name="text"/> (ordinal).</summary>
    /// <param name="text">The expected text.</param>
    /// <returns>This message.</returns>
    public ReceivedMessage AssertBodyContains(string text) =>
        TextBody?.Contains(text, StringComparison.Ordinal) == true || HtmlBody?.Contains(text, StringComparison.Ordinal) == true
            ? this
            : throw Failed($"a body containing \"{text}\"", $"text body \"{TextBody}\", HTML body \"{HtmlBody}\"");

    /// <summary>Checks a header field's (first) value.</summary>
    /// <param name="name">The field name, e.g. <c>Reply-To</c>.</param>
    /// <param name="value">The expected value (decoded).</param>
    /// <returns>This message.</returns>
    public ReceivedMessage AssertHeader(string name, string value)
    {
        string? actual = Message.Headers[name];
        return actual == value ? this : throw Failed($"{name}: {value}", actual is null ? $"no {name} field" : $"{name}: {actual}");
    }

    /// <summary>Checks that an attachment with this file name is present.</summary>
    /// <param name="fileName">The expected file name.</param>
    /// <returns>This message.</returns>
    public ReceivedMessage AssertAttachment(string fileName)
    {
        string[] names = [.. Message.Attachments.Select(a => a is MimePart part ? part.FileName : a.ContentDisposition?.FileName).OfType<string>()];
        return names.Contains(fileName) ? this : throw Failed($"an attachment \"{fileName}\"", "attachments " + List(names));
    }

    /// <summary>A one-line description: sender, recipients, subject.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"<{From}> to {List(To)}, subject \"{Subject}\"");

    private static string List(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(i => "<" + i + ">")) + "]";

    private SmtpAssertionException Failed(string expected, string actual) =>
        new($"Expected {expected}, but the message {this} has {actual}.");
}
