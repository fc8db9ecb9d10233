namespace Smtpd.Testing;

/// <summary>Where in an SMTP session an injected failure or delay applies.</summary>
public enum SmtpStage
{
    /// <summary>When the client connects, before the greeting (a refusal replaces the <c>220</c> greeting and closes).</summary>
    Connect,

    /// <summary>The <c>MAIL FROM</c> command.</summary>
    MailFrom,

    /// <summary>Each <c>RCPT TO</c> command.</summary>
    RcptTo,

    /// <summary>The end of <c>DATA</c>, after the whole message arrived (a refusal means the message was not accepted).</summary>
    Data,
}
