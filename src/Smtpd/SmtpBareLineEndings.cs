namespace Smtpd;

/// <summary>
/// What happens to a bare line feed (LF not after CR) or a bare carriage return (CR not before LF) inside a DATA message
/// (<see cref="SmtpServerOptions.BareLineEndings"/>; Postfix's <c>smtpd_forbid_bare_newline</c>). Only <c>CRLF.CRLF</c>
/// ever ends a message, whatever the policy; the policy decides what the stored message holds, so that a relay further
/// on that treats a bare LF or CR as a line ending cannot read a different message (or a second one) out of it.
/// </summary>
public enum SmtpBareLineEndings
{
    /// <summary>Kept as sent (the reference's behaviour).</summary>
    Accept = 0,

    /// <summary>Each bare LF and each bare CR becomes CRLF: the message has one reading only.</summary>
    Normalize = 1,

    /// <summary>The message is received to its end and refused with <c>550 5.5.2</c> (the DATA stream throws an <see cref="SmtpException"/> with that reply at its end).</summary>
    Reject = 2,
}
