using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// The message of a DATA command as it arrives: dot-unstuffed, without the terminating <c>.CRLF</c> (the CRLF before
/// it belongs to the message). Read it with <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> or
/// <see cref="Stream.CopyToAsync(Stream, CancellationToken)"/>; whatever the handler leaves unread is drained
/// before the reply. Reads fail with an <see cref="IOException"/> when the client disconnects or times out
/// before the end of the message; nothing is then acknowledged.
/// </summary>
public sealed class SmtpDataStream : Stream
{
    private readonly SmtpConnection _connection;
    private readonly long _sizeLimit;
    private DotUnstuffer _unstuffer = new();
    private long _byteLength;
    private Exception? _failure;
    private int _pending = -1;

    internal SmtpDataStream(SmtpConnection connection, long sizeLimit)
    {
        _connection = connection;
        _sizeLimit = sizeLimit;
    }

    /// <summary>Message bytes delivered so far (after unstuffing, including the final CRLF); live while the message arrives.</summary>
    public long ByteLength => _byteLength;

    /// <summary><see langword="true"/> once more than <see cref="SmtpServerOptions.Size"/> bytes arrived (never without a size limit). The transfer goes on.</summary>
    public bool SizeExceeded => _sizeLimit > 0 && _byteLength > _sizeLimit;

    /// <summary><see langword="true"/> once the whole message has been received.</summary>
    public bool IsComplete => _unstuffer.IsEnded;

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => _byteLength;
        set => throw new NotSupportedException();
    }

    internal Exception? Failure => _failure;

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_pending >= 0)
        {
            buffer.Span[0] = (byte)_pending;
            _pending = -1;
            return 1;
        }

        if (buffer.Length < 2)
        {
            // The state machine may release a held-back ".CR" pair at once: read two, keep one.
            byte[] two = new byte[2];
            int n = await ReadAsync(two.AsMemory(), cancellationToken);
            if (n == 2)
            {
                _pending = two[1];
            }

            buffer.Span[0] = two[0];
            return n == 0 ? 0 : 1;
        }

        while (true)
        {
            if (_unstuffer.IsEnded)
            {
                return 0;
            }

            ThrowIfFailed();
            ReadOnlySequence<byte> input = await ReadInputAsync(cancellationToken);
            int written = Consume(input, buffer.Span);
            if (written > 0)
            {
                return written;
            }
        }
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Synchronous reads would block a thread on the network: use <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The DATA stream is asynchronous only: use ReadAsync or CopyToAsync.");

    /// <inheritdoc/>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(bufferSize, 16384));
        try
        {
            int n;
            while ((n = await ReadAsync(rented.AsMemory(), cancellationToken)) > 0)
            {
                await destination.WriteAsync(rented.AsMemory(0, n), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Reads and discards the rest of the message.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        while (!_unstuffer.IsEnded)
        {
            ThrowIfFailed();
            ReadOnlySequence<byte> input = await ReadInputAsync(cancellationToken);
            Consume(input, default, discard: true);
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadOnlySequence<byte>> ReadInputAsync(CancellationToken cancellationToken)
    {
        ReadResult result;
        try
        {
            result = await _connection.ReadDataAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _failure = ex as IOException ?? new IOException("The connection failed before the message was received in full.", ex);
            throw _failure;
        }

        if (result.Buffer.IsEmpty && result.IsCompleted)
        {
            _connection.Reader.AdvanceTo(result.Buffer.End);
            _failure = new IOException("Connection closed before the message was received in full");
            throw _failure;
        }

        return result.Buffer;
    }

    /// <summary>Runs the state machine over <paramref name="input"/>; advances the reader past what was consumed.</summary>
    private int Consume(ReadOnlySequence<byte> input, Span<byte> output, bool discard = false)
    {
        int written = 0;
        long consumed = 0;
        foreach (ReadOnlyMemory<byte> segment in input)
        {
            ReadOnlySpan<byte> span = segment.Span;
            int used = _unstuffer.Process(span, discard ? default : output[written..], discard, out int n);
            written += n;
            consumed += used;
            if (used < span.Length || _unstuffer.IsEnded)
            {
                break;
            }
        }

        _byteLength += written;
        SequencePosition position = input.GetPosition(consumed);

        // Everything was examined unless output space ran out: the next read then waits for new bytes.
        bool outOfSpace = consumed < input.Length && !_unstuffer.IsEnded;
        _connection.Reader.AdvanceTo(position, outOfSpace || _unstuffer.IsEnded ? position : input.End);
        return written;
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw _failure;
        }
    }
}
