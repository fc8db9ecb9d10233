using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace Smtpd.Tests.Core;

/// <summary>
/// Drives the protocol core (<see cref="SmtpProtocol"/>) of one session line by line, without sockets: its transport
/// runs over an in-memory stream whose input is what the test queues and whose output is captured. The server is built
/// from the same options the socket tests use; nothing listens.
/// </summary>
internal sealed class ProtocolHarness : IAsyncDisposable
{
    private readonly SmtpServer _server;
    private readonly ScriptedStream _stream;

    private ProtocolHarness(SmtpServer server, ScriptedStream stream, SmtpProtocol protocol)
    {
        _server = server;
        _stream = stream;
        Protocol = protocol;
    }

    public SmtpProtocol Protocol { get; }

    public SmtpSession Session => Protocol.Session;

    /// <summary>What the last line asked the command loop to do.</summary>
    public Outcome LastOutcome { get; private set; }

    /// <summary>A session from <paramref name="remote"/> (default 127.0.0.1) on a server with the test defaults and <paramref name="configure"/>.</summary>
    public static ProtocolHarness Create(Action<SmtpServerOptions>? configure = null, IPAddress? remote = null)
    {
        var server = new SmtpServer(TestServer.Defaults(configure));
        EndpointContext endpoint = server.Context.DefaultEndpoint;
        var stream = new ScriptedStream();
        var transport = new ConnectionTransport(null, stream, server.Context.SocketTimeoutMs);
        var session = new SmtpSession(SmtpSession.NewId(), endpoint.Options.Lmtp, !endpoint.Options.HideDsn)
        {
            RemoteAddress = remote ?? IPAddress.Loopback,
            RemotePort = 40000,
        };
        session.ClientHostname = session.BracketedRemoteAddress;
        var protocol = new SmtpProtocol(endpoint, session, transport, server.SessionHandlerFor(session), NullLogger.Instance, ignored: false,
            ForwardingTrust.For(endpoint.Proxy, session.RemoteAddress));
        return new ProtocolHarness(server, stream, protocol);
    }

    /// <summary>Runs one command line; returns the replies it wrote (CRLF-separated lines, without the last CRLF).</summary>
    public async Task<string> SendAsync(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line);
        LastOutcome = await Protocol.ExecuteAsync(new System.Buffers.ReadOnlySequence<byte>(bytes));
        return await RepliesAsync();
    }

    /// <summary>After DATA's 354: the client's message (dot-stuffed, with its terminator) arrives; returns the replies after it.</summary>
    public async Task<string> SendMessageAsync(string message)
    {
        Assert.Equal(Outcome.ReceiveMessage, LastOutcome);
        _stream.Queue(Encoding.UTF8.GetBytes(message));
        LastOutcome = await Protocol.ReceiveMessageAsync();
        return await RepliesAsync();
    }

    /// <summary>After a BDAT line: its chunk arrives; returns the replies after it.</summary>
    public async Task<string> SendChunkAsync(string chunk)
    {
        Assert.Equal(Outcome.ReceiveChunk, LastOutcome);
        _stream.Queue(Encoding.UTF8.GetBytes(chunk));
        LastOutcome = await Protocol.ReceiveChunkAsync();
        return await RepliesAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Protocol.Transport.DisposeAsync();
        await _server.DisposeAsync();
    }

    private async Task<string> RepliesAsync()
    {
        await Protocol.Replies.FlushAsync();
        return _stream.TakeOutput().TrimEnd('\r', '\n');
    }

    /// <summary>Input the test queues (then the end of the stream), output captured.</summary>
    private sealed class ScriptedStream : Stream
    {
        private readonly Queue<byte> _input = new();
        private readonly MemoryStream _output = new();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Queue(byte[] bytes)
        {
            foreach (byte b in bytes)
            {
                _input.Enqueue(b);
            }
        }

        public string TakeOutput()
        {
            string text = Encoding.UTF8.GetString(_output.ToArray());
            _output.SetLength(0);
            return text;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int count = 0;
            Span<byte> span = buffer.Span;
            while (count < span.Length && _input.TryDequeue(out byte b))
            {
                span[count++] = b;
            }

            return new(count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _output.Write(buffer.Span);
            return default;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
