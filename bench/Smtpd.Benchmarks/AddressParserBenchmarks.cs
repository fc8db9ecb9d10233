using System.Text;
using BenchmarkDotNet.Attributes;

namespace Smtpd.Benchmarks;

/// <summary>
/// Parsing MAIL FROM and RCPT TO lines (<c>AddressParser.Parse</c>). The address string (and the parameter
/// dictionary when there are parameters) is handed to the handlers; anything allocated beyond that is waste.
/// </summary>
[MemoryDiagnoser]
public class AddressParserBenchmarks
{
    private byte[] _line = [];
    private bool _isMail;

    /// <summary>The command line, without its CRLF.</summary>
    [Params(
        "MAIL FROM:<sender@example.com>",
        "MAIL FROM:<sender@example.com> SIZE=4096 BODY=8BITMIME",
        "MAIL FROM:<>",
        "RCPT TO:<rcpt@example.com>",
        "RCPT TO:<first.last+tag@sub.mail.example.org>")]
    public string Line { get; set; } = "";

    /// <summary>Encodes the line once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _line = Encoding.ASCII.GetBytes(Line);
        _isMail = Line.StartsWith("MAIL", StringComparison.Ordinal);
    }

    /// <summary>Parses with the default (strict) address rules.</summary>
    [Benchmark]
    public int Parse()
    {
        AddressParseError error = AddressParser.Parse(_line, _isMail, lenient: false, out string address, out Dictionary<string, string?>? args, out _);
        return (int)error + address.Length + (args?.Count ?? 0);
    }
}
