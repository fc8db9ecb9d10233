using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Smtpd.Benchmarks;

/// <summary>A summary column "GB/s": the benchmark's <c>Bytes</c> parameter divided by its mean time (10^9 bytes per second).</summary>
public sealed class ThroughputColumn : IColumn
{
    /// <summary>The name of the parameter that holds the bytes processed per operation.</summary>
    public const string BytesParameter = "Bytes";

    /// <inheritdoc/>
    public string Id => nameof(ThroughputColumn);

    /// <inheritdoc/>
    public string ColumnName => "GB/s";

    /// <inheritdoc/>
    public bool AlwaysShow => false;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => 0;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => "Throughput: the Bytes parameter per mean operation time, in 10^9 bytes per second";

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return summary.BenchmarksCases.Any(c => c.Parameters.Items.Any(p => p.Name == BytesParameter));
    }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        double? meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        object? bytes = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == BytesParameter)?.Value;
        if (meanNanoseconds is not > 0 || bytes is not int count)
        {
            return "-";
        }

        return (count / meanNanoseconds.Value).ToString("F2", CultureInfo.InvariantCulture);
    }
}
