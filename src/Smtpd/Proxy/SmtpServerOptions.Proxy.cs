#pragma warning disable CA1822 // Interim: replaced by the TLS, AUTH and proxy work.

namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    private static void CloneProxy(SmtpServerOptions copy)
    {
        _ = copy;
    }

    private void ValidateProxy()
    {
    }
}
