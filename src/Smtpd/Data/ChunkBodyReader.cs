using System.Buffers;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// The message of a BDAT transaction (RFC 3030): the chunks of its <c>BDAT</c> commands, read exactly as announced (no
/// dot-unstuffing, no line rules), straight from the connection's reader into the DATA handler's buffer. The DATA
/// handler runs from the first chunk to the last, across commands: the command loop offers each chunk
/// (<see cref="Offer"/>) and waits (<see cref="WaitAsync"/>) until the handler has read it, then answers the chunk and
/// reads the next command while the handler waits in <see cref="ReadAsync"/> for the next chunk. Only one of the two
/// reads the connection at a time; nothing is buffered here beyond the reader's own buffer.
/// </summary>
internal sealed class ChunkBodyReader(ConnectionTransport transport, DataRate rate) : MessageBodyReader(transport, rate)
{
    private readonly Lock _gate = new();
    private readonly HandoffSignal _chunkOffered = new();
    private readonly HandoffSignal _chunkTaken = new();
    private long _remaining;
    private bool _last;
    private bool _abandoned;
    private bool _handlerEnded;
    private bool _handlerWaiting;
    private bool _loopWaiting;

    /// <summary>The last chunk has been read to its end.</summary>
    public override bool IsComplete
    {
        get
        {
            lock (_gate)
            {
                return _last && _remaining == 0 && !_abandoned && Failure is null;
            }
        }
    }

    /// <summary>The transaction ended before its last chunk (RSET, a new greeting, a refused chunk, the connection's end): reads fail.</summary>
    public bool IsAbandoned
    {
        get
        {
            lock (_gate)
            {
                return _abandoned;
            }
        }
    }

    /// <summary>Octets of the current chunk nobody has read yet (after the handler ended: what the loop must skip).</summary>
    public long Unread
    {
        get
        {
            lock (_gate)
            {
                return _remaining;
            }
        }
    }

    /// <summary>From the command loop: the next chunk, <paramref name="size"/> octets that follow in the connection's reader.</summary>
    public void Offer(long size, bool last)
    {
        bool wake;
        lock (_gate)
        {
            _remaining = size;
            _last = last;
            wake = TakeHandlerWaiter();
        }

        if (wake)
        {
            _chunkOffered.Set();
        }
    }

    /// <summary>
    /// From the command loop, after <see cref="Offer"/>: completes when the handler has read the chunk (for the last chunk:
    /// when the handler has returned), when the handler returned early, or when reading from the client failed.
    /// </summary>
    public ValueTask WaitAsync()
    {
        lock (_gate)
        {
            if (_handlerEnded || Failure is not null || (_remaining == 0 && !_last))
            {
                return default;
            }

            _loopWaiting = true;
            return _chunkTaken.Wait();
        }
    }

    /// <summary>The handler has returned (or thrown): the command loop goes on and skips what it left unread.</summary>
    public void HandlerEnded()
    {
        bool wake;
        lock (_gate)
        {
            _handlerEnded = true;
            wake = TakeLoopWaiter();
        }

        if (wake)
        {
            _chunkTaken.Set();
        }
    }

    /// <summary>The transaction ended without its last chunk: the handler's pending and later reads fail.</summary>
    public void Abandon()
    {
        bool wake;
        lock (_gate)
        {
            _abandoned = true;
            _remaining = 0;
            wake = TakeHandlerWaiter();
        }

        if (wake)
        {
            _chunkOffered.Set();
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            ValueTask wait;
            lock (_gate)
            {
                ThrowIfFailed();
                if (_abandoned)
                {
                    throw new IOException("The client abandoned the message before its last chunk.");
                }

                if (_remaining > 0)
                {
                    break;
                }

                if (_last)
                {
                    return 0;
                }

                _handlerWaiting = true;
                wait = _chunkOffered.Wait();
            }

            await WaitForChunkAsync(wait, cancellationToken);
        }

        ReadOnlySequence<byte> input = await ReadInputAsync(cancellationToken);
        int count = (int)Math.Min(Math.Min(buffer.Length, Volatile.Read(ref _remaining)), input.Length);
        input.Slice(0, count).CopyTo(buffer.Span);
        Transport.Reader.AdvanceTo(input.GetPosition(count));
        CountInput(count);
        bool wake;
        lock (_gate)
        {
            if (_abandoned)
            {
                // The connection ended meanwhile.
                throw new IOException("The client abandoned the message before its last chunk.");
            }

            _remaining -= count;
            ByteLength += count;
            wake = _remaining == 0 && !_last && TakeLoopWaiter();
        }

        if (wake)
        {
            _chunkTaken.Set();
        }

        return count;
    }

    /// <summary>Skips what is left of the current chunk (the handler returned before reading all of it), at the message's data rate.</summary>
    public override async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        long unread = Unread;
        await SkipAsync(unread, cancellationToken);
        lock (_gate)
        {
            _remaining = 0;
            ByteLength += unread;
        }
    }

    /// <summary>Waits for the next chunk; the handler's token ends the wait too.</summary>
    private async ValueTask WaitForChunkAsync(ValueTask wait, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            await wait;
            return;
        }

        using (cancellationToken.UnsafeRegister(static state => ((ChunkBodyReader)state!).WakeHandler(), this))
        {
            await wait;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private void WakeHandler()
    {
        bool wake;
        lock (_gate)
        {
            wake = TakeHandlerWaiter();
        }

        if (wake)
        {
            _chunkOffered.Set();
        }
    }

    /// <summary>Reading failed: the connection is lost; the command loop, waiting for the chunk, is told at once.</summary>
    protected override IOException Fail(IOException failure)
    {
        bool wake;
        lock (_gate)
        {
            Failure = failure;
            wake = TakeLoopWaiter();
        }

        if (wake)
        {
            _chunkTaken.Set();
        }

        return failure;
    }

    private bool TakeHandlerWaiter()
    {
        bool waiting = _handlerWaiting;
        _handlerWaiting = false;
        return waiting;
    }

    private bool TakeLoopWaiter()
    {
        bool waiting = _loopWaiting;
        _loopWaiting = false;
        return waiting;
    }
}
