using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;

namespace Smtpd.Tests.Protocol;

/// <summary>RFC 2920: the replies to a pipelined group leave in one send, in order.</summary>
public class PipeliningTests
{
    /// <summary>A duplex in-memory transport that counts the server's writes.</summary>
    private sealed class CountingDuplexStream(PipeReader input, PipeWriter output) : Stream
    {
        public int Writes;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ReadResult result = await input.ReadAsync(cancellationToken);
            if (result.Buffer.IsEmpty && result.IsCompleted)
            {
                return 0;
            }

            if (buffer.IsEmpty)
            {
                input.AdvanceTo(result.Buffer.Start);
                return 0;
            }

            int n = (int)Math.Min(buffer.Length, result.Buffer.Length);
            result.Buffer.Slice(0, n).CopyTo(buffer.Span);
            input.AdvanceTo(result.Buffer.GetPosition(n));
            return n;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Writes);
            await output.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_pipelined_group_is_answered_in_one_write()
    {
        var toServer = new Pipe();
        var fromServer = new Pipe();
        var stream = new CountingDuplexStream(toServer.Reader, fromServer.Writer);
        await using var server = new SmtpServer(TestServer.Defaults(o => o.DisabledCommands = ["AUTH"]));
        Task session = server.HandleStreamAsync(stream, new IPEndPoint(IPAddress.Parse("192.0.2.9"), 4000), new IPEndPoint(IPAddress.Loopback, 25));

        async Task<string> ReadAvailable(int expectedLines)
        {
            var text = new StringBuilder();
            while (text.ToString().Split('\n').Length - 1 < expectedLines)
            {
                ReadResult result = await fromServer.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                text.Append(Encoding.ASCII.GetString(result.Buffer.ToArray()));
                fromServer.Reader.AdvanceTo(result.Buffer.End);
            }

            return text.ToString();
        }

        Assert.StartsWith("220 ", await ReadAvailable(1));
        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("EHLO x\r\n"));
        await ReadAvailable(4);
        int before = stream.Writes;
        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("MAIL FROM:<a@b.c>\r\nRCPT TO:<r1@b.c>\r\nRCPT TO:<bad\r\nRCPT TO:<r2@b.c>\r\nNOOP\r\nDATA\r\n"));
        string replies = await ReadAvailable(6);
        Assert.Equal("250 Accepted\r\n250 Accepted\r\n501 Error: Bad recipient address syntax\r\n250 Accepted\r\n250 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n", replies);
        Assert.Equal(1, stream.Writes - before);

        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("x\r\n.\r\nRSET\r\nQUIT\r\n"));
        before = stream.Writes;
        Assert.Equal("250 OK: message queued\r\n250 Flushed\r\n221 Bye\r\n", await ReadAvailable(3));
        Assert.Equal(1, stream.Writes - before);
        await toServer.Writer.CompleteAsync();
        await session.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HandleStreamAsync_reports_the_given_endpoints()
    {
        var toServer = new Pipe();
        var fromServer = new Pipe();
        SmtpSession? seen = null;
        await using var server = new SmtpServer(TestServer.Defaults(o => o.OnConnect = (s, ct) =>
        {
            seen = s;
            return default;
        }));
        Task session = server.HandleStreamAsync(new CountingDuplexStream(toServer.Reader, fromServer.Writer), new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.9"), 4000), new IPEndPoint(IPAddress.Loopback, 25));
        await toServer.Writer.WriteAsync("QUIT\r\n"u8.ToArray());
        await toServer.Writer.CompleteAsync();
        await session.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(IPAddress.Parse("192.0.2.9"), seen!.RemoteAddress);
        Assert.Equal(4000, seen.RemotePort);
        Assert.Equal(25, seen.LocalPort);
    }

    [Fact]
    public async Task HandleConnectionAsync_serves_an_accepted_socket()
    {
        await using var server = new SmtpServer(TestServer.Defaults());
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        await using var client = await RawClient.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
        Task session = server.HandleConnectionAsync(accepted);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        await client.DisposeAsync();
        await session.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
