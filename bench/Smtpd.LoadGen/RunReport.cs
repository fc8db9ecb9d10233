using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Smtpd.LoadGen;

/// <summary>What a run measured: written as one JSON object (stdout) and one summary line (stderr).</summary>
internal sealed class RunReport
{
    public required LoadGenOptions Options { get; init; }

    public int MessageSize { get; init; }

    /// <summary>Connections that completed the greeting and EHLO (and STARTTLS) in the set-up phase.</summary>
    public int Established { get; set; }

    /// <summary>Seconds the set-up phase took (connect, greeting, EHLO, STARTTLS for every connection).</summary>
    public double SetupSeconds { get; set; }

    public long Completed { get; set; }

    public long Errors { get; set; }

    public IReadOnlyCollection<string> ErrorSamples { get; set; } = [];

    /// <summary>Seconds of the measured phase.</summary>
    public double ElapsedSeconds { get; set; }

    public LatencySummary? Latency { get; set; }

    public LatencySummary? GreetingLatency { get; set; }

    /// <summary>CPU seconds (user + system) the generator used during the measured phase.</summary>
    public double ClientCpuSeconds { get; set; }

    /// <summary>CPU seconds the generator used in total, start-up included.</summary>
    public double ClientCpuTotalSeconds { get; set; }

    /// <summary>Bytes the generator allocated during the measured phase (all threads).</summary>
    public long ClientAllocatedBytes { get; set; }

    public int DroppedDuringHold { get; set; }

    public long ServerRssBeforeKib { get; set; } = -1;

    public long ServerRssIdleKib { get; set; } = -1;

    public long ServerPeakRssKib { get; set; } = -1;

    public double MessagesPerSecond => ElapsedSeconds > 0 ? Completed / ElapsedSeconds : 0;

    public double MegabytesPerSecond => ElapsedSeconds > 0 ? Completed * (double)MessageSize / ElapsedSeconds / 1_000_000 : 0;

    public double ClientCpuMicrosecondsPerMessage => Completed > 0 ? ClientCpuSeconds * 1_000_000 / Completed : 0;

    public double? ServerRssPerConnectionKib =>
        ServerRssBeforeKib >= 0 && ServerRssIdleKib >= 0 && Established > 0 ? (ServerRssIdleKib - ServerRssBeforeKib) / (double)Established : null;

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        LoadGenOptions o = Options;
        json.WriteStartObject();
        json.WriteString("tool", "Smtpd.LoadGen");
        json.WriteString("label", o.Label);
        json.WriteString("mode", o.Mode switch { LoadMode.PerMessage => "per-message", LoadMode.Idle => "idle", _ => "reuse" });
        json.WriteString("host", o.Host);
        json.WriteNumber("port", o.Port);
        json.WriteNumber("connections", o.Mode == LoadMode.Idle ? o.IdleConnections : o.Connections);
        json.WriteNumber("messages_requested", o.Mode == LoadMode.Idle ? 0 : o.TotalMessages);
        json.WriteNumber("size", MessageSize);
        json.WriteNumber("recipients", o.Recipients);
        json.WriteBoolean("pipelining", o.Pipelining);
        json.WriteBoolean("bdat", o.Bdat);
        json.WriteNumber("chunk_size", o.Bdat ? (o.ChunkSize > 0 ? o.ChunkSize : MessageSize) : 0);
        json.WriteBoolean("starttls", o.StartTls);
        json.WriteBoolean("inline_completions", o.InlineCompletions);
        json.WriteNumber("established", Established);
        json.WriteNumber("setup_s", Round(SetupSeconds, 6));
        json.WriteNumber("completed", Completed);
        json.WriteNumber("errors", Errors);
        json.WriteStartArray("error_samples");
        foreach (string sample in ErrorSamples)
        {
            json.WriteStringValue(sample);
        }

        json.WriteEndArray();
        json.WriteNumber("elapsed_s", Round(ElapsedSeconds, 6));
        json.WriteNumber("messages_per_s", Round(MessagesPerSecond, 2));
        json.WriteNumber("mb_per_s", Round(MegabytesPerSecond, 3));
        WriteLatency(json, "latency_us", Latency);
        WriteLatency(json, "greeting_latency_us", GreetingLatency);
        json.WriteNumber("client_cpu_s", Round(ClientCpuSeconds, 6));
        json.WriteNumber("client_cpu_total_s", Round(ClientCpuTotalSeconds, 6));
        json.WriteNumber("client_cpu_us_per_msg", Round(ClientCpuMicrosecondsPerMessage, 2));
        json.WriteNumber("client_alloc_bytes_per_msg", Completed > 0 ? Round(ClientAllocatedBytes / (double)Completed, 1) : 0);
        if (o.Mode == LoadMode.Idle)
        {
            json.WriteNumber("dropped_during_hold", DroppedDuringHold);
        }

        if (o.ServerPid > 0)
        {
            json.WriteStartObject("server");
            json.WriteNumber("pid", o.ServerPid);
            json.WriteNumber("rss_before_kib", ServerRssBeforeKib);
            json.WriteNumber("rss_idle_kib", ServerRssIdleKib);
            json.WriteNumber("peak_rss_kib", ServerPeakRssKib);
            if (ServerRssPerConnectionKib is double perConnection)
            {
                json.WriteNumber("rss_per_conn_kib", Round(perConnection, 3));
            }
            else
            {
                json.WriteNull("rss_per_conn_kib");
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    public string SummaryLine()
    {
        LoadGenOptions o = Options;
        var line = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        if (o.Mode == LoadMode.Idle)
        {
            line.Append(c, $"idle: {Established}/{o.IdleConnections} connections established in {SetupSeconds:F2} s");
            if (ServerRssPerConnectionKib is double perConnection)
            {
                line.Append(c, $", server RSS {ServerRssBeforeKib} -> {ServerRssIdleKib} KiB = {perConnection:F2} KiB per connection");
            }

            line.Append(c, $", {DroppedDuringHold} dropped during the hold, {Errors} errors");
            return line.ToString();
        }

        string mode = o.Mode == LoadMode.PerMessage ? "per-message" : "reuse";
        line.Append(c, $"{mode} {o.Connections} conn, {Completed}/{o.TotalMessages} msg of {MessageSize} B");
        if (o.Pipelining)
        {
            line.Append(", pipelining");
        }

        if (o.StartTls)
        {
            line.Append(", STARTTLS");
        }

        line.Append(c, $": {MessagesPerSecond:F0} msg/s, {MegabytesPerSecond:F2} MB/s");
        if (Latency is not null)
        {
            line.Append(c, $", p50 {Latency.P50 / 1000:F3} ms, p99 {Latency.P99 / 1000:F3} ms");
        }

        line.Append(c, $", {Errors} errors, client CPU {ClientCpuSeconds:F2} s ({ClientCpuMicrosecondsPerMessage:F1} us/msg)");
        return line.ToString();
    }

    private static void WriteLatency(Utf8JsonWriter json, string name, LatencySummary? summary)
    {
        if (summary is null)
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartObject(name);
        json.WriteNumber("count", summary.Count);
        json.WriteNumber("p50", Round(summary.P50, 1));
        json.WriteNumber("p90", Round(summary.P90, 1));
        json.WriteNumber("p99", Round(summary.P99, 1));
        json.WriteNumber("max", Round(summary.Max, 1));
        json.WriteNumber("mean", Round(summary.Mean, 1));
        json.WriteEndObject();
    }

    private static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);
}
