using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// A dedicated thread around one Linux epoll set: it waits for readiness events and completes the waiting socket's
/// <see cref="ReadinessWaiter"/> right there, so the connection's continuation (parse the command, run the handler,
/// send the reply) runs on this thread without a hop to the thread pool. This is what
/// <see cref="SmtpServerOptions.UnsafePreferInlineScheduling"/> turns on: a handler that blocks this thread stalls
/// every connection the loop serves. The loops are shared by the process (one per processor, at most 16), made on first
/// use and never stopped, like the runtime's own socket engine; sockets are spread over them in turn.
/// </summary>
internal sealed class ReadinessLoop
{
    private const int EventsPerWait = 256;

    private static readonly Lock CreateLock = new();
    private static ReadinessLoop[]? s_loops;
    private static int s_next;

    private readonly int _epoll;
    private readonly Lock _slotsLock = new();
    private readonly Stack<int> _freeSlots = new();
    private SocketReadiness?[] _slots = new SocketReadiness?[64];
    private uint[] _generations = new uint[64];
    private int _usedSlots;

    private ReadinessLoop(int index)
    {
        _epoll = Epoll.Create();
        var thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"Smtpd readiness loop {index}",
        };
        thread.UnsafeStart();
    }

    /// <summary>The number of loops of the process.</summary>
    public static int Count => Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>The loop for the next socket (round robin); the loops are made on first use.</summary>
    public static ReadinessLoop Next()
    {
        ReadinessLoop[] loops = Volatile.Read(ref s_loops) ?? CreateLoops();
        return loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    /// <summary>Adds <paramref name="socket"/> with <paramref name="events"/>; <see langword="false"/> when epoll refuses it.</summary>
    public bool TryAdd(SocketReadiness readiness, Socket socket, uint events)
    {
        int slot;
        uint generation;
        lock (_slotsLock)
        {
            if (!_freeSlots.TryPop(out slot))
            {
                slot = _usedSlots++;
                if (slot == _slots.Length)
                {
                    SocketReadiness?[] slots = new SocketReadiness?[slot * 2];
                    _slots.CopyTo(slots, 0);
                    Array.Resize(ref _generations, slot * 2);
                    Volatile.Write(ref _slots, slots);
                }
            }

            generation = _generations[slot];
            readiness.SetToken(((ulong)generation << 32) | (uint)slot);
            Volatile.Write(ref _slots[slot], readiness);
        }

        if (Control(Epoll.Add, socket, events, readiness.Token) == 0)
        {
            return true;
        }

        Remove(readiness);
        return false;
    }

    /// <summary>Changes the events <paramref name="socket"/> is watched for; the error number, or 0.</summary>
    public int Modify(SocketReadiness readiness, Socket socket, uint events) => Control(Epoll.Modify, socket, events, readiness.Token);

    /// <summary>Frees the slot of <paramref name="readiness"/>: events still in flight for it are dropped.</summary>
    public void Remove(SocketReadiness readiness)
    {
        int slot = (int)(uint)readiness.Token;
        lock (_slotsLock)
        {
            if (_slots[slot] == readiness)
            {
                Volatile.Write(ref _slots[slot], null);
                _generations[slot]++;
                _freeSlots.Push(slot);
            }
        }
    }

    private static ReadinessLoop[] CreateLoops()
    {
        lock (CreateLock)
        {
            if (s_loops is null)
            {
                var loops = new ReadinessLoop[Count];
                for (int i = 0; i < loops.Length; i++)
                {
                    loops[i] = new ReadinessLoop(i);
                }

                Volatile.Write(ref s_loops, loops);
            }

            return s_loops;
        }
    }

    private int Control(int operation, Socket socket, uint events, ulong token)
    {
        SafeSocketHandle handle = socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Epoll.Control(_epoll, operation, (int)handle.DangerousGetHandle(), events, token);
        }
        catch (ObjectDisposedException)
        {
            return (int)SocketError.OperationAborted;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The thread's loop: never returns, so it is compiled optimised at once (tiering could only replace it on the stack).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Run()
    {
        byte[] events = GC.AllocateUninitializedArray<byte>(EventsPerWait * Epoll.EventSize, pinned: true);
        while (true)
        {
            Dispatch(events, Epoll.Wait(_epoll, events));
        }
    }

    private void Dispatch(ReadOnlySpan<byte> events, int count)
    {
        for (int i = 0; i < count; i++)
        {
            ulong data = Epoll.DataAt(events, i);
            SocketReadiness? readiness = Volatile.Read(ref _slots)[(int)(uint)data];
            if (readiness is not null && readiness.Token == data)
            {
                readiness.OnEvents(Epoll.EventsAt(events, i));
            }
        }
    }
}
