#pragma warning disable CA1822 // Interim: replaced by the TLS, AUTH and proxy work.

namespace Smtpd;

public partial class SmtpServer
{
    private void InitializeTls()
    {
    }
}
