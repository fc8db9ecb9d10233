#pragma warning disable CA1822 // Interim: replaced by the TLS, AUTH and proxy work.

namespace Smtpd;

internal sealed partial class SmtpConnection
{
    private bool IsIgnored => false;

    private bool IsXClientAdvertised => false;

    private bool IsXForwardAdvertised => false;

    private ValueTask<bool> ReadProxyHeaderAsync() => new(true);

    private ValueTask<Outcome> XClientAsync(ReadOnlySpan<byte> arguments)
    {
        _ = arguments;
        return Reply(550, "5.7.0", "Error: Not allowed");
    }

    private ValueTask<Outcome> XForward(ReadOnlySpan<byte> arguments)
    {
        _ = arguments;
        return Reply(550, "5.7.0", "Error: Not allowed");
    }
}
