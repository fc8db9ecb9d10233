namespace Smtpd.Hosting;

/// <summary>
/// A setting in configuration has a value Smtpd cannot use (not a number, not an address, a file that cannot be
/// read, an option this version does not support). The message is one line that names the setting.
/// </summary>
public sealed class SmtpConfigurationException : Exception
{
    /// <summary>Creates an exception.</summary>
    public SmtpConfigurationException()
    {
    }

    /// <summary>Creates an exception with a one-line message.</summary>
    /// <param name="message">What is wrong, naming the setting.</param>
    public SmtpConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a one-line message and its cause.</summary>
    /// <param name="message">What is wrong, naming the setting.</param>
    /// <param name="innerException">The cause.</param>
    public SmtpConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
