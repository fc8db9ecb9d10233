using System.Diagnostics;
using System.Globalization;

namespace Smtpd.Soak;

/// <summary>Samples the server process's resident set size (<c>/proc/PID/status</c>) once a second, with the load's progress.</summary>
internal sealed class RssSampler(int pid, Func<long> acknowledged) : IDisposable
{
    private readonly List<Sample> _samples = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Timer? _timer;

    public sealed record Sample(double Seconds, long RssKib, long Acknowledged);

    public IReadOnlyList<Sample> Samples
    {
        get
        {
            lock (_samples)
            {
                return _samples.ToArray();
            }
        }
    }

    public void Start() => _timer = new Timer(_ => Take(), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));

    /// <summary>Takes one sample now (also the last one, after the load).</summary>
    public void Take()
    {
        long rss = ReadStatus(pid, "VmRSS:");
        if (rss < 0)
        {
            return;
        }

        lock (_samples)
        {
            _samples.Add(new Sample(_clock.Elapsed.TotalSeconds, rss, acknowledged()));
        }
    }

    /// <summary>A field of <c>/proc/PID/status</c> in KiB (VmRSS, VmHWM), or -1 once the process is gone.</summary>
    public static long ReadStatus(int pid, string field)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    string value = line[field.Length..].Trim();
                    return long.Parse(value.Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    public void Dispose() => _timer?.Dispose();
}
