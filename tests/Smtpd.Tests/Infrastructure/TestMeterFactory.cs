using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Smtpd.Tests;

/// <summary>An <see cref="IMeterFactory"/> that keeps the meters it made, so a listener can pick one server's instruments.</summary>
public sealed class TestMeterFactory : IMeterFactory
{
    public ConcurrentBag<Meter> Meters { get; } = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        Meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (Meter meter in Meters)
        {
            meter.Dispose();
        }
    }
}
