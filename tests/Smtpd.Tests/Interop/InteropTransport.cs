namespace Smtpd.Tests.Interop;

/// <summary>How a matrix cell's client reaches the server.</summary>
public enum InteropTransport
{
    /// <summary>Cleartext; the server does not offer STARTTLS, so the session stays in the clear.</summary>
    Plain,

    /// <summary>Cleartext, then STARTTLS before MAIL (the client must upgrade: the cell fails if it does not).</summary>
    StartTls,

    /// <summary>TLS from the first byte (the server's <c>Secure</c> option; port 465 style).</summary>
    ImplicitTls,
}
