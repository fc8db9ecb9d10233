#pragma warning disable CA1822 // Interim: replaced by the TLS, AUTH and proxy work.

namespace Smtpd;

internal sealed partial class SmtpConnection
{
    private bool IsAuthExchangeActive => false;

    private bool IsAuthAdvertised => true;

    private ValueTask<Outcome> AuthAsync(ReadOnlySpan<byte> arguments)
    {
        _ = arguments;
        return Reply(504, "5.5.4", "Error: Unrecognized authentication type");
    }

    private ValueTask<Outcome> ContinueAuthAsync(ReadOnlySpan<byte> line)
    {
        _ = line;
        return Reply(_replies.Unrecognized);
    }
}
