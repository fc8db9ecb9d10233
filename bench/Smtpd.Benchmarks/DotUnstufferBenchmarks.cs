using System.Text;
using BenchmarkDotNet.Attributes;

namespace Smtpd.Benchmarks;

/// <summary>
/// The DATA scanner (<c>DotUnstuffer.Process</c>): end-of-data search and dot-unstuffing over a whole message that
/// ends with <c>CRLF.CRLF</c>, copying into an output buffer or only counting. The GB/s column is the throughput.
/// </summary>
[MemoryDiagnoser]
public class DotUnstufferBenchmarks
{
    private byte[] _input = [];
    private byte[] _output = [];

    /// <summary>The kind of message text.</summary>
    public enum TextKind
    {
        /// <summary>Ordinary 78-byte lines, none starting with a dot.</summary>
        Ordinary,

        /// <summary>Short lines that all start with a stuffed dot (<c>..</c>).</summary>
        DotHeavy,
    }

    /// <summary>Message size in bytes, terminator included (also the GB/s column's numerator).</summary>
    [Params(65536)]
    public int Bytes { get; set; }

    /// <summary>The kind of text.</summary>
    [Params(TextKind.Ordinary, TextKind.DotHeavy)]
    public TextKind Text { get; set; }

    /// <summary>Builds the message once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string line = Text == TextKind.Ordinary
            ? "The quick brown fox jumps over the lazy dog while the mail server counts by\r\n"
            : "..a stuffed line\r\n";
        var text = new StringBuilder(Bytes);
        while (text.Length + line.Length + 5 <= Bytes)
        {
            text.Append(line);
        }

        text.Append('x', Bytes - 3 - text.Length - 2).Append("\r\n").Append(".\r\n");
        _input = Encoding.ASCII.GetBytes(text.ToString());
        _output = new byte[Bytes];
    }

    /// <summary>Scans and unstuffs into the output buffer.</summary>
    [Benchmark(Baseline = true)]
    public int Copy()
    {
        var unstuffer = new DotUnstuffer();
        int consumed = unstuffer.Process(_input, _output, discard: false, out int written);
        return Check(unstuffer, consumed) + written;
    }

    /// <summary>Scans and only counts (the drain path).</summary>
    [Benchmark]
    public int Discard()
    {
        var unstuffer = new DotUnstuffer();
        int consumed = unstuffer.Process(_input, default, discard: true, out int written);
        return Check(unstuffer, consumed) + written;
    }

    private int Check(DotUnstuffer unstuffer, int consumed) =>
        unstuffer.IsEnded && consumed == _input.Length ? 0 : throw new InvalidOperationException("the scanner did not find the end of the message");
}
