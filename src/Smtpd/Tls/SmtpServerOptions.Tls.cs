#pragma warning disable CA1822 // Interim: replaced by the TLS, AUTH and proxy work.

namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>Do not advertise STARTTLS (the command still works).</summary>
    public bool HideSTARTTLS { get; set; }

    private static void CloneTls(SmtpServerOptions copy)
    {
        _ = copy;
    }

    private void ValidateTls()
    {
    }
}
