#pragma warning disable CA1822 // Interim: replaced by the TLS, AUTH and proxy work.

namespace Smtpd;

internal sealed partial class SmtpConnection
{
    private bool IsStartTlsAvailable => false;

    private ValueTask<bool> StartImplicitTlsAsync() => new(true);

    private ValueTask<bool> SecureSessionAsync() => new(true);

    private ValueTask<Outcome> StartTls(ReadOnlySpan<byte> arguments)
    {
        _ = arguments;
        return Reply(454, "4.7.0", "TLS not available");
    }

    private ValueTask<bool> UpgradeToTlsAsync() => new(false);
}
