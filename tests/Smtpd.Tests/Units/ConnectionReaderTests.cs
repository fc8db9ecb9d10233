using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Smtpd.Tests.Units;

/// <summary>How the connection's reader sizes its reads: small while commands arrive, large while a message streams in.</summary>
public class ConnectionReaderTests
{
    /// <summary>A transport that serves queued chunks and records the size of every read it is asked for.</summary>
    private sealed class RecordingStream(params string[] chunks) : Stream
    {
        private readonly Queue<byte[]> _chunks = new(chunks.Select(Encoding.ASCII.GetBytes));

        public List<int> ReadSizes { get; } = [];

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ReadSizes.Add(buffer.Length);
            if (!_chunks.TryDequeue(out byte[]? chunk))
            {
                return new(0);
            }

            Assert.True(chunk.Length <= buffer.Length, "the test's chunks fit the reads");
            chunk.CopyTo(buffer);
            return new(chunk.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush() => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task ConsumeAsync(ConnectionReader reader)
    {
        ReadResult result = await reader.ReadAsync();
        reader.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task A_message_is_read_with_the_message_size_although_a_command_buffer_is_held()
    {
        var stream = new RecordingStream("DATA\r\n", "body\r\n.\r\n", "MAIL FROM:<a@b.c>\r\n");
        var reader = new ConnectionReader(stream, socket: null) { WaitForData = false };

        await ConsumeAsync(reader);                            // the DATA command, into a command buffer
        reader.ReadSize = ConnectionReader.MessageReadSize;
        await ConsumeAsync(reader);                            // the message
        reader.ReadSize = ConnectionReader.CommandReadSize;
        await ConsumeAsync(reader);                            // the next command

        Assert.Equal([ConnectionReader.CommandReadSize, ConnectionReader.MessageReadSize, ConnectionReader.CommandReadSize], stream.ReadSizes);
        reader.Complete();
    }

    [Fact]
    public async Task Bytes_still_buffered_keep_their_buffer_when_the_read_size_changes()
    {
        var stream = new RecordingStream("DATA\r\nbody", "\r\n.\r\n");
        var reader = new ConnectionReader(stream, socket: null) { WaitForData = false };

        ReadResult result = await reader.ReadAsync();
        reader.AdvanceTo(result.Buffer.GetPosition(6));        // "DATA\r\n" consumed, "body" still buffered
        reader.ReadSize = ConnectionReader.MessageReadSize;
        result = await reader.ReadAsync();
        Assert.Equal("body", Encoding.ASCII.GetString(result.Buffer.ToArray()));
        reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        result = await reader.ReadAsync();
        Assert.Equal("body\r\n.\r\n", Encoding.ASCII.GetString(result.Buffer.ToArray()));
        reader.AdvanceTo(result.Buffer.End);
        Assert.Equal(2, stream.ReadSizes.Count);
        Assert.True(stream.ReadSizes[1] < ConnectionReader.CommandReadSize, "the rest went into the same buffer, behind the kept bytes");
        reader.Complete();
    }
}
