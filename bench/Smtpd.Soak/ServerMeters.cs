using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Smtpd.Soak;

/// <summary>Listens to the server's own <c>Smtpd</c> meter, as an operator's collector would, and keeps running totals.</summary>
internal sealed class ServerMeters : IDisposable
{
    private static readonly string[] Tags = ["smtpd.message.result", "smtpd.refusal.reason", "error.type"];
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();

    public ServerMeters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Counters, and the sums of the byte histogram (smtpd.message.size: the bytes received).
            if (instrument.Meter.Name == SmtpTelemetry.MeterName && instrument is Counter<long> or UpDownCounter<long> or Histogram<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (Array.IndexOf(Tags, tag.Key) >= 0)
                {
                    key += $" {tag.Key}={tag.Value}";
                }
            }

            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>Connections open now (<c>smtpd.active_connections</c>).</summary>
    public long ActiveConnections => _totals.GetValueOrDefault("smtpd.active_connections");

    public SortedDictionary<string, long> Snapshot() => new(_totals, StringComparer.Ordinal);

    public void Dispose() => _listener.Dispose();
}
