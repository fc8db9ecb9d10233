namespace Smtpd.Testing;

/// <summary>
/// An expectation about received mail did not hold (no matching message in time, a different recipient or subject).
/// Every test framework reports it as a failed test; the message says what was expected and what arrived.
/// </summary>
public sealed class SmtpAssertionException : Exception
{
    /// <summary>Creates an exception.</summary>
    public SmtpAssertionException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What was expected and what was found.</param>
    public SmtpAssertionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What was expected and what was found.</param>
    /// <param name="innerException">The cause.</param>
    public SmtpAssertionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
