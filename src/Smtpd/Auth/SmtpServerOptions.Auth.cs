namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>SASL mechanisms advertised (in this order) and accepted. Default <c>LOGIN</c>, <c>PLAIN</c>, as the reference.</summary>
    public IList<string> AuthMethods { get; set; } = ["LOGIN", "PLAIN"];

    /// <summary>Do not require authentication for MAIL/RCPT/DATA (and do not count unauthenticated commands).</summary>
    public bool AuthOptional { get; set; }

    /// <summary>Text of the 530 reply to MAIL/RCPT/DATA when authentication is required.</summary>
    public string AuthRequiredMessage { get; set; } = "Error: authentication Required";

    /// <summary>Allow AUTH on a cleartext connection although STARTTLS is available.</summary>
    public bool AllowInsecureAuth { get; set; }

    /// <summary>
    /// While AUTH is required, the number of commands an unauthenticated client may send (AUTH itself excluded)
    /// before <c>421 Error: too many unauthenticated commands</c>; the limit-th command is refused. Default 10, as the
    /// reference; 0 disables the limit.
    /// </summary>
    public int MaxAllowedUnauthenticatedCommands { get; set; } = 10;
}
