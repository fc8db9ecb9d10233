using System.Buffers;
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
    private readonly MessageBodyReader _body;
    private readonly long _sizeLimit;
    private int _pending = -1;

    internal SmtpDataStream(MessageBodyReader body, long sizeLimit)
    {
        _body = body;
        _sizeLimit = sizeLimit;
    }

    /// <summary>Message bytes delivered so far (after unstuffing, including the final CRLF); live while the message arrives.</summary>
    public long ByteLength => _body.ByteLength;

    /// <summary><see langword="true"/> once more than <see cref="SmtpServerOptions.Size"/> bytes arrived (never without a size limit). The transfer goes on.</summary>
    public bool SizeExceeded => _sizeLimit > 0 && ByteLength > _sizeLimit;

    /// <summary><see langword="true"/> once the whole message has been received.</summary>
    public bool IsComplete => _body.IsComplete;

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
        get => ByteLength;
        set => throw new NotSupportedException();
    }

    /// <summary>Reading from the client failed: the connection is lost (not a failure of the handler).</summary>
    internal IOException? Failure => _body.Failure;

    /// <summary>A BDAT message ended before its last chunk (RSET, a refused chunk): reads fail, and that is not the handler's failure.</summary>
    internal bool IsAbandoned => _body is ChunkBodyReader { IsAbandoned: true };

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
            // The body reader may release two bytes at once (a held-back ".CR" pair): read two, keep one.
            byte[] two = new byte[2];
            int n = await _body.ReadAsync(two.AsMemory(), cancellationToken);
            if (n == 2)
            {
                _pending = two[1];
            }

            buffer.Span[0] = two[0];
            return n == 0 ? 0 : 1;
        }

        return await _body.ReadAsync(buffer, cancellationToken);
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
    internal ValueTask DrainAsync(CancellationToken cancellationToken) => _body.DrainAsync(cancellationToken);

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
}
