namespace Smtpd;

/// <summary>
/// The minimum data rate of message input (<see cref="SmtpServerOptions.MinDataRate"/>,
/// <see cref="SmtpServerOptions.MinDataRateGracePeriod"/>), compiled once per server.
/// </summary>
internal sealed class DataRate(int bytesPerSecond, TimeSpan gracePeriod)
{
    /// <summary>No minimum rate.</summary>
    public static readonly DataRate None = new(0, TimeSpan.Zero);

    private readonly long _graceMs = (long)gracePeriod.TotalMilliseconds;

    /// <summary>
    /// How much longer, in milliseconds, a client that has sent <paramref name="bytes"/> of a message while the server
    /// waited <paramref name="waitedMs"/> for it may keep the server waiting (<see cref="long.MaxValue"/> without a minimum rate).
    /// </summary>
    public long AllowedWaitMs(long bytes, long waitedMs) =>
        bytesPerSecond <= 0 ? long.MaxValue : _graceMs + (bytes * 1000 / bytesPerSecond) - waitedMs;
}
