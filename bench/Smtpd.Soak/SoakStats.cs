using System.Collections.Concurrent;

namespace Smtpd.Soak;

/// <summary>What the driver's sessions saw, by kind of session: how many ran, how each ended, how many hung.</summary>
internal sealed class SoakStats
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, long>> _outcomes = new(StringComparer.Ordinal);
    private long _hung;

    /// <summary>Waits the server left unanswered past the deadline, all kinds together.</summary>
    public long Hung => Interlocked.Read(ref _hung);

    public void Record(string kind, string outcome)
    {
        ConcurrentDictionary<string, long> outcomes = _outcomes.GetOrAdd(kind, _ => new ConcurrentDictionary<string, long>(StringComparer.Ordinal));
        outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
    }

    public void RecordHang(string kind, string what)
    {
        Interlocked.Increment(ref _hung);
        Record(kind, "HUNG: " + what);
    }

    public SortedDictionary<string, SortedDictionary<string, long>> Snapshot() =>
        new(_outcomes.ToDictionary(k => k.Key, k => new SortedDictionary<string, long>(k.Value, StringComparer.Ordinal), StringComparer.Ordinal), StringComparer.Ordinal);
}
