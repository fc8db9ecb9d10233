using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// The connection's stream over its socket (what <see cref="NetworkStream"/> does, with a cheaper write): a write first
/// tries a plain non-blocking send, which takes a reply whole in one system call without the asynchronous machinery,
/// and only waits asynchronously when the socket's buffer is full.
/// With a <see cref="SocketReadiness"/> (<see cref="SmtpServerOptions.UnsafePreferInlineScheduling"/>) reads are plain
/// receives too, each non-blocking by itself (<see cref="NonBlockingIo"/>: the descriptor's mode is left alone), and
/// every wait (for bytes, or for room to send) is one on the readiness loop, whose thread runs what follows; without
/// one, the socket is switched to non-blocking mode, and reads and full-buffer waits are the runtime's asynchronous
/// socket operations.
/// </summary>
internal sealed class SocketStream : Stream
{
    private readonly Socket _socket;
    private readonly SocketReadiness? _readiness;
    private readonly SafeSocketHandle? _handle;

    public SocketStream(Socket socket, bool inlineScheduling = false)
    {
        _socket = socket;
        _readiness = inlineScheduling ? SocketReadiness.TryRegister(socket) : null;
        if (_readiness is null)
        {
            _socket.Blocking = false;
        }
        else
        {
            _handle = socket.SafeHandle;
        }
    }

    /// <summary>Waits and continuations run on a readiness loop.</summary>
    public bool IsInline => _readiness is not null;

    /// <summary>
    /// The transport's abort token: cancelling it disposes this stream, which fails every pending operation, so an
    /// operation given this token needs no registration of its own on it.
    /// </summary>
    public CancellationToken AbortToken { get; set; }

    /// <summary>
    /// Completes when the socket has bytes (or its end) to read, without reading them or holding a buffer. On a readiness
    /// loop this costs no system call: it waits when the last receive emptied the socket, and otherwise completes at
    /// once (the read that follows finds out). Without one it is the runtime's zero-byte receive.
    /// </summary>
    public ValueTask<int> WaitForDataAsync() => ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, CancellationToken.None);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Receives from the socket; failures surface as <see cref="SocketException"/> (the engine treats them as a lost connection).</summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    /// <summary>Receives (or peeks, with <see cref="SocketFlags.Peek"/>) what the socket has, waiting for bytes when it has none; a zero-byte buffer only waits.</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, SocketFlags flags, CancellationToken cancellationToken)
    {
        if (cancellationToken == AbortToken)
        {
            cancellationToken = CancellationToken.None;
        }

        if (_readiness is null)
        {
            return _socket.ReceiveAsync(buffer, flags, cancellationToken);
        }

        int sequence = _readiness.ReadSequence;
        if (buffer.IsEmpty && flags == SocketFlags.None)
        {
            // A zero-byte read (the command loop's, or SslStream's before each record) only waits, and without a system
            // call: .NET turns a zero-byte receive into a one-byte peek. When the socket is not known to be empty it
            // completes at once, and the read that follows finds out.
            return _readiness.IsKnownEmpty(sequence) ? _readiness.WaitReadableAsync(sequence, cancellationToken) : default;
        }

        if (!_readiness.IsKnownEmpty(sequence))
        {
            int received = NonBlockingIo.Receive(_handle!, buffer.Span, flags, out SocketError error);
            if (error == SocketError.Success)
            {
                // Less than asked (and not the end of the stream): the socket's queue is empty as of this sequence.
                if (received < buffer.Length && received > 0 && flags == SocketFlags.None)
                {
                    _readiness.MarkEmpty(sequence);
                }

                return new(received);
            }

            if (error != SocketError.WouldBlock)
            {
                return ValueTask.FromException<int>(new SocketException((int)error));
            }

            _readiness.MarkEmpty(sequence);
        }

        return ReceiveWhenReadableAsync(buffer, flags, sequence, cancellationToken);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveWhenReadableAsync(Memory<byte> buffer, SocketFlags flags, int sequence, CancellationToken cancellationToken)
    {
        SocketReadiness readiness = _readiness!;
        while (true)
        {
            _ = await readiness.WaitReadableAsync(sequence, cancellationToken);
            sequence = readiness.ReadSequence;
            int received = NonBlockingIo.Receive(_handle!, buffer.Span, flags, out SocketError error);
            if (error == SocketError.Success)
            {
                if (received < buffer.Length && received > 0 && flags == SocketFlags.None)
                {
                    readiness.MarkEmpty(sequence);
                }

                return received;
            }

            if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }

            readiness.MarkEmpty(sequence);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken == AbortToken)
        {
            cancellationToken = CancellationToken.None;
        }

        while (!buffer.IsEmpty)
        {
            int sequence = _readiness?.WriteSequence ?? 0;
            int sent = _handle is null ? _socket.Send(buffer.Span, SocketFlags.None, out SocketError error) : NonBlockingIo.Send(_handle, buffer.Span, out error);
            if (error == SocketError.Success)
            {
                buffer = buffer[sent..];
            }
            else if (error == SocketError.WouldBlock)
            {
                return _readiness is null ? SendAsync(buffer, cancellationToken) : SendWhenWritableAsync(buffer, sequence, cancellationToken);
            }
            else
            {
                return ValueTask.FromException(new IOException(new SocketException((int)error).Message, new SocketException((int)error)));
            }
        }

        return default;
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                int sent = await _socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
                buffer = buffer[sent..];
            }
        }
        catch (SocketException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    private async ValueTask SendWhenWritableAsync(ReadOnlyMemory<byte> buffer, int sequence, CancellationToken cancellationToken)
    {
        SocketReadiness readiness = _readiness!;
        while (true)
        {
            _ = await readiness.WaitWritableAsync(sequence, cancellationToken);
            while (true)
            {
                sequence = readiness.WriteSequence;
                int sent = NonBlockingIo.Send(_handle!, buffer.Span, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    break;
                }

                if (error != SocketError.Success)
                {
                    throw new IOException(new SocketException((int)error).Message, new SocketException((int)error));
                }

                buffer = buffer[sent..];
                if (buffer.IsEmpty)
                {
                    return;
                }
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Synchronous reads would block a thread on the network; the engine never uses them.</summary>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Use ReadAsync.");

    /// <summary>Synchronous writes would block a thread on the network; the engine never uses them.</summary>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Use WriteAsync.");

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // The registration ends first: a pending wait fails, and the descriptor is not closed under the loop's feet.
            _readiness?.Close();
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }
}
