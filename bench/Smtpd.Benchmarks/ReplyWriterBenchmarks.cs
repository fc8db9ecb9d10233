using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace Smtpd.Benchmarks;

/// <summary>Formatting replies (<c>ReplyWriter.Write</c>) and the EHLO reply (<c>CapabilityTable.Write</c>) into a reused buffer.</summary>
[MemoryDiagnoser]
public class ReplyWriterBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private CapabilityTable _capabilities = null!;

    /// <summary>Builds the capability table of a server with the default options.</summary>
    [GlobalSetup]
    public void Setup() => _capabilities = new CapabilityTable(new SmtpServerOptions { Name = "mx.example.com" });

    /// <summary>A single-line reply without enhanced code.</summary>
    [Benchmark]
    public int Simple()
    {
        _buffer.ResetWrittenCount();
        ReplyWriter.Write(_buffer, 250, null, "OK: message queued");
        return _buffer.WrittenCount;
    }

    /// <summary>A single-line reply with an enhanced status code.</summary>
    [Benchmark]
    public int Enhanced()
    {
        _buffer.ResetWrittenCount();
        ReplyWriter.Write(_buffer, 250, "2.6.0", "OK: message queued");
        return _buffer.WrittenCount;
    }

    /// <summary>The multi-line EHLO reply with the default keywords plus STARTTLS.</summary>
    [Benchmark]
    public int Ehlo()
    {
        _buffer.ResetWrittenCount();
        _capabilities.Write(_buffer, "mx.example.com Nice to meet you, [127.0.0.1]", Capabilities.Auth | Capabilities.StartTls);
        return _buffer.WrittenCount;
    }
}
