using System.Collections.Concurrent;

namespace Smtpd.LoadGen;

/// <summary>Counts errors, keeps the first few descriptions, and signals once the run's error budget is spent.</summary>
internal sealed class ErrorLog(int limit, Action onLimitReached)
{
    private const int MaxSamples = 10;
    private readonly ConcurrentQueue<string> _samples = new();
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public IReadOnlyCollection<string> Samples => _samples;

    public void Add(string description)
    {
        long n = Interlocked.Increment(ref _count);
        if (n <= MaxSamples)
        {
            _samples.Enqueue(description);
        }

        if (n == limit)
        {
            onLimitReached();
        }
    }
}
