using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// The connection's <see cref="PipeReader"/>: one contiguous pooled buffer, rented only while bytes are waiting to be
/// consumed (an idle connection waits with a zero-byte read and holds none), compacted or grown in place when a
/// command line does not fit. Lighter than a general stream pipe: no segment chain, no cancellation source per
/// connection. <see cref="CancelPendingRead"/> is how timeouts and shutdown interrupt a read: it wakes a pending read
/// (for a socket, by shutting down its receive side, which ends reading for good).
/// </summary>
internal sealed class ConnectionReader : PipeReader
{
    /// <summary>The buffer for commands: small, since a connection between commands may hold it.</summary>
    public const int CommandReadSize = 4096;

    /// <summary>The buffer while a message streams in: large reads, fewer system calls.</summary>
    public const int MessageReadSize = 65536;
    private const int MinimumReadSize = 2048;

    private readonly Stream _stream;
    private readonly System.Net.Sockets.Socket? _socket;
    private CancellationTokenSource? _wakeSource;
    private byte[]? _buffer;
    private int _start;
    private int _end;
    private bool _examinedEverything;
    private bool _streamCompleted;
    private bool _completed;
    private int _cancelRequested;
    private int _reading;
    private bool _waited;
    private int _readSize = CommandReadSize;

    /// <summary>Creates a reader over <paramref name="stream"/>.</summary>
    /// <param name="stream">The transport.</param>
    /// <param name="socket">The socket under <paramref name="stream"/>: a pending read is woken by shutting down its receive side. Without one a cancellation token is used.</param>
    public ConnectionReader(Stream stream, System.Net.Sockets.Socket? socket)
    {
        _stream = stream;
        _socket = socket;
    }

    /// <summary>
    /// Wait for bytes with a zero-byte read before renting a buffer (default). The connection turns it off while a mail
    /// transaction is in flight: the client is known to be sending, and the zero-byte read would cost system calls.
    /// </summary>
    public bool WaitForData { get; set; } = true;

    /// <summary>The size of the buffer to rent for the next read (<see cref="CommandReadSize"/> or <see cref="MessageReadSize"/>).</summary>
    /// <remarks>Lowering it gives back a larger buffer that holds nothing, so a connection waiting after a message holds a small one.</remarks>
    public int ReadSize
    {
        get => _readSize;
        set
        {
            _readSize = value;
            if (_buffer is not null && _start == _end && _buffer.Length > value)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
                _start = _end = 0;
            }
        }
    }

    private ReadOnlySequence<byte> Buffered => _buffer is null || _start == _end ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);

    public override bool TryRead(out ReadResult result)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (Interlocked.Exchange(ref _cancelRequested, 0) == 1)
        {
            result = new ReadResult(Buffered, isCanceled: true, isCompleted: false);
            return true;
        }

        if ((_end > _start && !_examinedEverything) || _streamCompleted)
        {
            result = new ReadResult(Buffered, isCanceled: false, isCompleted: _streamCompleted);
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>
    /// When nothing is buffered: waits until the socket has bytes, holding neither a buffer nor an async frame of its own
    /// (the caller awaits the socket's own operation), so an idle connection costs as little as possible. It waits when
    /// <see cref="WaitForData"/> is on, and always on a readiness loop, where the wait costs no system call and saves the
    /// read's own async frames. Completes at once otherwise. Follow it with <see cref="ReadAsync(CancellationToken)"/>.
    /// </summary>
    public ValueTask<int> WaitForDataAsync()
    {
        if (_end > _start || _streamCompleted || _stream is not SocketStream socket || !(WaitForData || socket.IsInline))
        {
            return default;
        }

        ReturnBuffer();
        _waited = true;
        Volatile.Write(ref _reading, 1);
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _cancelRequested) == 1)
        {
            Volatile.Write(ref _reading, 0);
            return default;
        }

        return socket.WaitForDataAsync();
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _reading, 0);
        return TryRead(out ReadResult result) ? new(result) : ReadFromStreamAsync(cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadFromStreamAsync(CancellationToken cancellationToken)
    {
        CancellationToken token = cancellationToken;
        CancellationTokenSource? linked = null;
        if (_socket is null)
        {
            _wakeSource ??= new CancellationTokenSource();
            if (cancellationToken.CanBeCanceled)
            {
                linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _wakeSource.Token);
                token = linked.Token;
            }
            else
            {
                token = _wakeSource.Token;
            }
        }

        Volatile.Write(ref _reading, 1);
        Interlocked.MemoryBarrier();
        try
        {
            if (Volatile.Read(ref _cancelRequested) == 0)
            {
                if (_end == _start && WaitForData && !_waited)
                {
                    // Wait for bytes without holding a buffer.
                    ReturnBuffer();
                    _ = await _stream.ReadAsync(Memory<byte>.Empty, token);
                }

                if (Volatile.Read(ref _cancelRequested) == 0)
                {
                    Memory<byte> space = PrepareSpace();
                    int read = await _stream.ReadAsync(space, token);
                    if (read == 0)
                    {
                        _streamCompleted = true;
                    }
                    else
                    {
                        _end += read;
                        _examinedEverything = false;
                    }
                }
            }
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _cancelRequested) == 1)
        {
            // Woken by CancelPendingRead (a TLS stream may report the shut-down receive side as an error).
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
            _waited = false;
            linked?.Dispose();
        }

        if (Interlocked.Exchange(ref _cancelRequested, 0) == 1)
        {
            // A wake-up ends reading; what arrived with it is still offered.
            return new ReadResult(Buffered, isCanceled: true, isCompleted: false);
        }

        return new ReadResult(Buffered, isCanceled: false, isCompleted: _streamCompleted);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_buffer is null || _start == _end)
        {
            _examinedEverything = true;
            return;
        }

        // Positions of an array-backed sequence carry the index (the high bit may flag the sequence's end).
        int consumedIndex = consumed.GetObject() is null ? _start : consumed.GetInteger() & int.MaxValue;
        int examinedIndex = examined.GetObject() is null ? consumedIndex : examined.GetInteger() & int.MaxValue;
        if (consumedIndex < _start || consumedIndex > _end || examinedIndex < consumedIndex || examinedIndex > _end)
        {
            throw new ArgumentOutOfRangeException(nameof(consumed), "The position is not inside the last buffer read.");
        }

        _start = consumedIndex;
        _examinedEverything = examinedIndex == _end;
        if (_start == _end)
        {
            _start = _end = 0;

            // A message buffer goes back once drained; waiting for the next command takes a small one.
            if (_buffer.Length > ReadSize)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }

    public override void CancelPendingRead()
    {
        Interlocked.Exchange(ref _cancelRequested, 1);
        if (Volatile.Read(ref _reading) == 1)
        {
            Wake();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        ReturnBuffer();
        _wakeSource?.Dispose();
    }

    private void Wake()
    {
        if (_socket is not null)
        {
            try
            {
                _socket.Shutdown(System.Net.Sockets.SocketShutdown.Receive);
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // Already closed.
            }

            return;
        }

        try
        {
            _wakeSource?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Completed meanwhile.
        }
    }

    /// <summary>Free space after the buffered bytes: rents the buffer, moves the bytes to the front, or grows it.</summary>
    private Memory<byte> PrepareSpace()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
            _start = _end = 0;
        }
        else if (_start == _end && _buffer.Length < ReadSize)
        {
            // Nothing buffered and larger reads wanted (a message starts): the command buffer makes way for one of
            // ReadSize, so a message of a few KiB arrives in one system call rather than in command-sized pieces.
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
            _start = _end = 0;
        }
        else if (_buffer.Length - _end < MinimumReadSize)
        {
            int length = _end - _start;
            if (_start > 0 && _buffer.Length - length >= MinimumReadSize)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, length);
            }
            else
            {
                byte[] larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                Buffer.BlockCopy(_buffer, _start, larger, 0, length);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }

            _start = 0;
            _end = length;
        }

        return _buffer.AsMemory(_end);
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null && _start == _end)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _start = _end = 0;
        }
        else if (_completed && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
