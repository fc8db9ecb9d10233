using System.Diagnostics;

namespace Smtpd.Tests;

/// <summary>Timing for tests that compare two operations: the fastest of several runs, which noise can only slow down.</summary>
internal static class Timing
{
    /// <summary>The fastest of <paramref name="runs"/> runs of <paramref name="batch"/> calls of <paramref name="operation"/>, in milliseconds per call.</summary>
    public static double FastestMs<T>(Func<T> operation, int runs, int batch = 1)
    {
        double best = double.MaxValue;
        for (int run = 0; run < runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++)
            {
                operation();
            }

            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds / batch);
        }

        return best;
    }
}
