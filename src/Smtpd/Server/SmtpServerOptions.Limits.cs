namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>
    /// Maximum bytes one transaction's envelope may hold: the <c>MAIL FROM</c> and <c>RCPT TO</c> lines accepted in it,
    /// addresses and parameters included. A <c>RCPT TO</c> that would pass it gets <c>452 4.5.3 Error: too many
    /// recipients</c> (RFC 5321 §4.5.3.1.10: the client sends the remaining recipients in another transaction); a
    /// <c>MAIL FROM</c> line longer than the whole bound gets <c>552 5.3.4</c>. It bounds the memory a client can make the
    /// server hold with many recipients or long parameters, whatever <see cref="MaxRecipients"/> says. Default 1 MiB
    /// (1,000 recipients of the longest address with a 500-character ORCPT each fit); 0 means no limit.
    /// </summary>
    public long MaxEnvelopeSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// What happens to a bare LF or bare CR inside a DATA message: kept (<see cref="SmtpBareLineEndings.Accept"/>, the
    /// default, as the reference), made CRLF (<see cref="SmtpBareLineEndings.Normalize"/>), or the message refused with
    /// <c>550 5.5.2</c> (<see cref="SmtpBareLineEndings.Reject"/>). Only <c>CRLF.CRLF</c> ends a message either way; kept
    /// bare endings are what lets a relay further on that reads them as line endings see another message in this one
    /// (SMTP smuggling). BDAT messages are taken as sent.
    /// </summary>
    public SmtpBareLineEndings BareLineEndings { get; set; }

    private void ValidateLimits()
    {
        if (MaxEnvelopeSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEnvelopeSize), MaxEnvelopeSize, "MaxEnvelopeSize must be 0 (no limit) or positive.");
        }

        if (!Enum.IsDefined(BareLineEndings))
        {
            throw new ArgumentOutOfRangeException(nameof(BareLineEndings), BareLineEndings, "BareLineEndings must be Accept, Normalize or Reject.");
        }
    }
}
