using System.Diagnostics;

namespace Smtpd.LoadGen;

/// <summary>Collects durations (Stopwatch ticks) into a preallocated array; percentiles are computed once at the end.</summary>
internal sealed class LatencyRecorder(long capacity)
{
    private readonly long[] _ticks = new long[Math.Min(capacity, 50_000_000)];
    private long _count;

    public long Count => Math.Min(Volatile.Read(ref _count), _ticks.Length);

    /// <summary>Records one duration; beyond the capacity samples are dropped (the count stays bounded).</summary>
    public void Record(long ticks)
    {
        long index = Interlocked.Increment(ref _count) - 1;
        if (index < _ticks.Length)
        {
            _ticks[index] = ticks;
        }
    }

    /// <summary>The summary in microseconds, or <see langword="null"/> with no samples.</summary>
    public LatencySummary? Summarize()
    {
        int n = (int)Count;
        if (n == 0)
        {
            return null;
        }

        long[] sorted = _ticks[..n];
        Array.Sort(sorted);
        double sum = 0;
        foreach (long t in sorted)
        {
            sum += t;
        }

        return new LatencySummary(
            n,
            ToMicroseconds(Percentile(sorted, 0.50)),
            ToMicroseconds(Percentile(sorted, 0.90)),
            ToMicroseconds(Percentile(sorted, 0.99)),
            ToMicroseconds(sorted[^1]),
            ToMicroseconds(sum / n));
    }

    private static double Percentile(long[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double ToMicroseconds(double ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}

/// <summary>Latency percentiles in microseconds (nearest rank).</summary>
internal sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max, double Mean);
