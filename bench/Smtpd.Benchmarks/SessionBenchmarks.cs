using System.Text;
using BenchmarkDotNet.Attributes;

namespace Smtpd.Benchmarks;

/// <summary>
/// Whole sessions through the engine's public entry point (<c>HandleStreamAsync</c>) over an in-memory transport:
/// greeting, EHLO, then <see cref="Commands"/> repetitions of one command group, then QUIT. The per-operation figures
/// are per group, with the session's own set-up spread over the groups: it is 1 to 2 KiB once (the connection's
/// objects, EHLO, QUIT), so over 10,000 groups it adds under 0.2 B to a group and the column shows what the commands
/// cost. What a group allocates beyond the strings and address objects handed to the handlers is waste.
/// </summary>
[MemoryDiagnoser]
public class SessionBenchmarks : IAsyncDisposable
{
    /// <summary>Groups per session.</summary>
    public const int Commands = 10_000;

    private SmtpServer _server = null!;
    private byte[] _script = [];

    /// <summary>The repeated group, its commands separated by " + ".</summary>
    [Params("NOOP", "RSET", "MAIL FROM:<sender@example.com> + RCPT TO:<rcpt@example.com> + RSET")]
    public string Group { get; set; } = "";

    /// <summary>A server with AUTH optional, no greeting pause and no reverse lookup; the script of one session.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _server = new SmtpServer(new SmtpServerOptions
        {
            Name = "mx.example.com",
            AuthOptional = true,
            DisableReverseLookup = true,
            GreetingDelay = TimeSpan.Zero,
        });
        var script = new StringBuilder("EHLO client.example.com\r\n");
        string group = Group.Replace(" + ", "\r\n", StringComparison.Ordinal) + "\r\n";
        for (int i = 0; i < Commands; i++)
        {
            script.Append(group);
        }

        _script = Encoding.ASCII.GetBytes(script.Append("QUIT\r\n").ToString());
    }

    /// <summary>Disposes the server.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync() => await DisposeAsync();

    /// <summary>Disposes the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>One session; the figures are per group.</summary>
    [Benchmark(OperationsPerInvoke = Commands)]
    public Task Session() => _server.HandleStreamAsync(new ScriptedStream(_script));

    /// <summary>A client that has pipelined its whole script; whatever the server writes is discarded.</summary>
    private sealed class ScriptedStream(byte[] script) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int count = Math.Min(buffer.Length, script.Length - _position);
            script.AsSpan(_position, count).CopyTo(buffer.Span);
            _position += count;
            return new(count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => default;

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
