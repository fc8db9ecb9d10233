using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// A socket registered with a <see cref="ReadinessLoop"/> (edge-triggered, once, for its whole life): counts the
/// readiness events the loop reports and lets one reader and one writer wait for the next one. A caller takes the
/// sequence number before it tries a non-blocking receive or send and, when that would block, waits for the sequence
/// to move: an event that arrives in between is never lost. A receive that returned less than it asked for emptied the
/// socket's queue, so the next wait needs no system call to find that out (<see cref="IsKnownEmpty"/>).
/// The registration ends with <see cref="Close"/>, before the socket is disposed: the kernel drops the descriptor from
/// the epoll set when it closes, and the slot's generation makes any event still in flight miss.
/// </summary>
internal sealed class SocketReadiness
{
    private const uint ReadEvents = Epoll.In | Epoll.ReadHangUp | Epoll.HangUp | Epoll.Error;
    private const uint WriteEvents = Epoll.Out | Epoll.HangUp | Epoll.Error;

    private readonly ReadinessLoop _loop;
    private readonly Socket _socket;
    private readonly ReadinessWaiter _reader = new();
    private ReadinessWaiter? _writer;
    private int _readEvents;
    private int _writeEvents;
    private int _emptyAt = -1;
    private bool _watchingWrites;
    private int _closed;

    private SocketReadiness(ReadinessLoop loop, Socket socket)
    {
        _loop = loop;
        _socket = socket;
    }

    /// <summary>The loop's slot and generation, the epoll data of the registration.</summary>
    public ulong Token { get; private set; }

    /// <summary>Readiness events reported so far; take it before a receive.</summary>
    public int ReadSequence => Volatile.Read(ref _readEvents);

    /// <summary>Writability events reported so far; take it before a send.</summary>
    public int WriteSequence => Volatile.Read(ref _writeEvents);

    /// <summary>
    /// Registers <paramref name="socket"/> with one of the process's readiness loops, or returns <see langword="null"/>
    /// where there are none (not Linux) or the registration fails. The socket's blocking mode is the caller's: a
    /// connection's receives and sends are non-blocking by themselves (<see cref="NonBlockingIo"/>).
    /// </summary>
    public static SocketReadiness? TryRegister(Socket socket)
    {
        if (!Epoll.IsSupported)
        {
            return null;
        }

        ReadinessLoop loop = ReadinessLoop.Next();
        var readiness = new SocketReadiness(loop, socket);
        return loop.TryAdd(readiness, socket, ReadEvents | Epoll.EdgeTriggered) ? readiness : null;
    }

    /// <summary>Set by the loop when it registers the socket.</summary>
    internal void SetToken(ulong token) => Token = token;

    /// <summary>No event since a receive at <paramref name="sequence"/> found the socket empty: waiting needs no system call first.</summary>
    public bool IsKnownEmpty(int sequence) => _emptyAt == sequence;

    /// <summary>A receive that started at <paramref name="sequence"/> found the queue empty (would block, or returned less than asked).</summary>
    public void MarkEmpty(int sequence) => _emptyAt = sequence;

    /// <summary>Completes (with 0) when a readiness event after <paramref name="sequence"/> arrives; fails when the socket closes or <paramref name="cancellationToken"/> is cancelled.</summary>
    public ValueTask<int> WaitReadableAsync(int sequence, CancellationToken cancellationToken) => WaitAsync(_reader, ref _readEvents, sequence, cancellationToken);

    /// <summary>Completes when the socket may take more bytes after <paramref name="sequence"/>; the socket is watched for writability from the first such wait on.</summary>
    public ValueTask<int> WaitWritableAsync(int sequence, CancellationToken cancellationToken)
    {
        ReadinessWaiter writer = _writer ??= new ReadinessWaiter();
        if (!_watchingWrites && Volatile.Read(ref _closed) == 0)
        {
            // Re-registering reports the socket at once if it is writable by now, so this wait cannot miss it.
            _watchingWrites = true;
            int error = _loop.Modify(this, _socket, ReadEvents | WriteEvents | Epoll.EdgeTriggered);
            if (error != 0)
            {
                return ValueTask.FromException<int>(new SocketException(error));
            }
        }

        return WaitAsync(writer, ref _writeEvents, sequence, cancellationToken);
    }

    /// <summary>From the loop thread: the events of one report.</summary>
    internal void OnEvents(uint events)
    {
        if ((events & ReadEvents) != 0)
        {
            Volatile.Write(ref _readEvents, _readEvents + 1);
            _reader.Signal();
        }

        if ((events & WriteEvents) != 0)
        {
            Volatile.Write(ref _writeEvents, _writeEvents + 1);
            _writer?.Signal();
        }
    }

    /// <summary>Ends the registration before the socket is disposed: pending and later waits fail as an aborted operation.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _loop.Remove(this);

        // Usually nothing waits (a connection ends after its last read): no exception is made then. A wait armed after
        // the check sees the closed flag itself (both sides exchange first, then read).
        if (_reader.IsArmed)
        {
            _reader.Fail(Aborted());
        }

        if (_writer is { IsArmed: true } writer)
        {
            writer.Fail(Aborted());
        }
    }

    private static SocketException Aborted() => new((int)SocketError.OperationAborted);

    private ValueTask<int> WaitAsync(ReadinessWaiter waiter, ref int events, int sequence, CancellationToken cancellationToken)
    {
        waiter.Arm();
        if (Volatile.Read(ref events) != sequence || Volatile.Read(ref _closed) != 0 || cancellationToken.IsCancellationRequested)
        {
            if (waiter.TryDisarm())
            {
                return Volatile.Read(ref _closed) != 0 ? ValueTask.FromException<int>(Aborted())
                    : cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken)
                    : default;
            }
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(waiter, cancellationToken) : waiter.Task;
    }

    private static async ValueTask<int> WaitCancellableAsync(ReadinessWaiter waiter, CancellationToken cancellationToken)
    {
        using CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
            static (state, token) => ((ReadinessWaiter)state!).Fail(new OperationCanceledException(token)), waiter);
        return await waiter.Task;
    }
}
