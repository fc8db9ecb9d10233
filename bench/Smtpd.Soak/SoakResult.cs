namespace Smtpd.Soak;

/// <summary>Everything one soak measured, and the verdicts drawn from it.</summary>
internal sealed record SoakResult(
    SoakOptions Options,
    TimeSpan LoadTime,
    TimeSpan TotalTime,
    IReadOnlyList<RssSampler.Sample> Samples,
    long PeakRssKib,
    bool ServerAliveUntilStop,
    int ServerExitCode,
    byte[] Acknowledged,
    ServerLedger Ledger,
    SortedDictionary<string, SortedDictionary<string, long>> Sessions,
    long Hung,
    TimeSpan LongestSlowloris)
{
    public sealed record Check(string Name, bool Passed, string Detail);

    public long AcknowledgedCount => Acknowledged.Count(a => a == 1);

    public long DeliveredOnce => Ledger.Counts.Count(c => c == 1);

    public long AcknowledgedNotDelivered => Enumerable.Range(0, Acknowledged.Length).Count(i => Acknowledged[i] == 1 && Ledger.Counts[i] == 0);

    public long DeliveredMoreThanOnce => Ledger.Counts.Count(c => c > 1);

    public long DeliveredNotAcknowledged => Enumerable.Range(0, Acknowledged.Length).Count(i => Acknowledged[i] == 0 && Ledger.Counts[i] > 0);

    public IReadOnlyList<Check> Checks
    {
        get
        {
            long[] rss = Samples.Select(s => s.RssKib).ToArray();
            long middle = rss.Length >= 4 ? rss[(rss.Length / 4)..(rss.Length / 2)].Max() : 0;
            long last = rss.Length >= 4 ? rss[(rss.Length * 3 / 4)..].Max() : 0;
            return
            [
                new("every message acknowledged", AcknowledgedCount == Options.Messages, $"{AcknowledgedCount:N0} of {Options.Messages:N0} got 250 after their final dot"),
                new("every acknowledged message delivered to the handler exactly once", AcknowledgedNotDelivered == 0 && DeliveredMoreThanOnce == 0,
                    $"{AcknowledgedNotDelivered:N0} acknowledged but not delivered, {DeliveredMoreThanOnce:N0} delivered more than once"),
                new("nothing delivered that was not acknowledged", DeliveredNotAcknowledged == 0, $"{DeliveredNotAcknowledged:N0}"),
                new("no hostile message accepted", Ledger.Unexpected.Count == 0 && Ledger.Unidentified == 0,
                    $"{Ledger.Unexpected.Count} hostile ids and {Ledger.Unidentified} unidentified messages accepted"),
                new("no connection hung (every wait answered within the timeout)", Hung == 0, $"{Hung} waits past {Options.Timeout.TotalSeconds:0} s"),
                new("no connection left open once the clients were gone", Ledger.OpenAtStop == 0, $"smtpd.active_connections = {Ledger.OpenAtStop} at the stop signal"),
                new("the server stayed up and stopped cleanly", ServerAliveUntilStop && ServerExitCode == 0, $"alive until SIGTERM: {ServerAliveUntilStop}, exit status {ServerExitCode}"),
                new("RSS does not keep growing", last <= middle * 3 / 2,
                    $"largest RSS in the last quarter of the run {last / 1024} MiB, in the second quarter {middle / 1024} MiB (limit 1.5 ×)"),
            ];
        }
    }

    public bool Passed => Checks.All(c => c.Passed);
}
