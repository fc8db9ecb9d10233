namespace Smtpd;

/// <summary>
/// Thrown by a handler to reject the current command with a specific reply. Any other exception thrown by a
/// handler is answered with <c>451 4.3.0 Error: internal server error</c> and logged.
/// </summary>
public class SmtpException : Exception
{
    /// <summary>Creates an exception whose reply code is chosen by the command (550 for MAIL/RCPT, 450 for DATA, 535 for AUTH, 554 for connect).</summary>
    public SmtpException()
    {
    }

    /// <summary>Creates an exception whose reply code is chosen by the command (550 for MAIL/RCPT, 450 for DATA, 535 for AUTH, 554 for connect).</summary>
    /// <param name="message">The reply text.</param>
    public SmtpException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a reply code, text and optional enhanced status code.</summary>
    /// <param name="responseCode">A 4xx or 5xx reply code; a 421 closes the connection.</param>
    /// <param name="message">The reply text.</param>
    /// <param name="enhancedCode">An RFC 3463 code such as <c>5.7.1</c>, or <see langword="null"/> to derive it.</param>
    public SmtpException(int responseCode, string message, string? enhancedCode = null)
        : base(message)
    {
        if (responseCode is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(responseCode), responseCode, "A rejection needs a 4xx or 5xx code.");
        }

        ResponseCode = responseCode;
        EnhancedCode = enhancedCode;
    }

    /// <summary>Creates an exception wrapping another one.</summary>
    /// <param name="message">The reply text.</param>
    /// <param name="innerException">The cause.</param>
    public SmtpException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The reply code, or <see langword="null"/> for the command's default.</summary>
    public int? ResponseCode { get; }

    /// <summary>The enhanced status code, or <see langword="null"/> to derive it from the reply code.</summary>
    public string? EnhancedCode { get; }
}
