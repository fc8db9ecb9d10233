namespace Smtpd.Testing;

/// <summary>One injected failure or delay: at <see cref="Stage"/>, for a recipient or any, a number of times or always.</summary>
internal sealed class SmtpFault(SmtpStage stage, string? recipient, SmtpResult? reply, TimeSpan delay, int? times)
{
    private int _remaining = times ?? -1;

    public SmtpStage Stage { get; } = stage;

    /// <summary>Applies the fault if it matches and is not used up: waits <c>delay</c>, then gives its reply (if any).</summary>
    /// <returns>Whether it applied, and the reply that replaces acceptance (<see langword="null"/> for a delay only).</returns>
    public async ValueTask<(bool Applied, SmtpResult? Reply)> ApplyAsync(SmtpStage at, string? address, CancellationToken cancellationToken)
    {
        if (at != Stage || (recipient is not null && !string.Equals(recipient, address, StringComparison.OrdinalIgnoreCase)) || !TryUse())
        {
            return (false, null);
        }

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }

        return (true, reply);
    }

    private bool TryUse()
    {
        while (true)
        {
            int remaining = Volatile.Read(ref _remaining);
            if (remaining == 0)
            {
                return false;
            }

            if (remaining < 0 || Interlocked.CompareExchange(ref _remaining, remaining - 1, remaining) == remaining)
            {
                return true;
            }
        }
    }
}
