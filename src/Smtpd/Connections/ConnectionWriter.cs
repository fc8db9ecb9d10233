using System.Buffers;
using System.IO.Pipelines;

namespace Smtpd;

/// <summary>
/// The connection's <see cref="PipeWriter"/>: replies accumulate in one pooled buffer and leave in one write per
/// flush; the buffer goes back to the pool after every flush, so an idle connection holds none. A write that stalls
/// is ended by the connection's timeout (which aborts the transport), not by <see cref="CancelPendingFlush"/>.
/// </summary>
internal sealed class ConnectionWriter(Stream stream) : PipeWriter
{
    private const int BufferSize = 4096;

    private readonly Stream _stream = stream;
    private byte[]? _buffer;
    private int _written;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override void Advance(int bytes)
    {
        if (bytes < 0 || _buffer is null || _written + bytes > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        _written += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_written == 0)
        {
            return new(default(FlushResult));
        }

        ValueTask write = _stream.WriteAsync(_buffer.AsMemory(0, _written), cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            Release();
            return new(default(FlushResult));
        }

        return AwaitWrite(write);
    }

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null) => Release();

    private async ValueTask<FlushResult> AwaitWrite(ValueTask write)
    {
        await write;
        Release();
        return default;
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(BufferSize, sizeHint));
        }
        else if (_buffer.Length - _written < sizeHint)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
            Buffer.BlockCopy(_buffer, 0, larger, 0, _written);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }

    private void Release()
    {
        _written = 0;
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
