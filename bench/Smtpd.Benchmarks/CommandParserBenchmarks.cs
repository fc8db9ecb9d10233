using System.Text;
using BenchmarkDotNet.Attributes;

namespace Smtpd.Benchmarks;

/// <summary>Recognising the verb of a command line (<c>CommandParser.Identify</c>): expected to allocate nothing.</summary>
[MemoryDiagnoser]
public class CommandParserBenchmarks
{
    private byte[] _line = [];

    /// <summary>The command line, without its CRLF.</summary>
    [Params("NOOP", "RSET", "DATA", "QUIT", "MAIL FROM:<sender@example.com>", "RCPT TO:<rcpt@example.com>", "EHLO client.example.com", "STARTTLS", "XYZZY unknown")]
    public string Line { get; set; } = "";

    /// <summary>Encodes the line once.</summary>
    [GlobalSetup]
    public void Setup() => _line = Encoding.ASCII.GetBytes(Line);

    /// <summary>Identifies the verb; returns the command and verb length so nothing is optimised away.</summary>
    [Benchmark]
    public int Identify()
    {
        SmtpCommand command = CommandParser.Identify(_line, out int verbLength);
        return ((int)command << 16) | verbLength;
    }
}
