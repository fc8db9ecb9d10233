using System.Collections.Concurrent;

namespace Smtpd;

public partial class SmtpServer
{
    private readonly ConcurrentDictionary<long, SmtpConnection> _pendingSockets = new();
    private int _pendingCount;

    /// <summary>The number of accepted sockets that have not yet delivered their PROXY header.</summary>
    internal int PendingSocketCount => Volatile.Read(ref _pendingCount);

    /// <summary>
    /// The pre-session guard: a socket that must first deliver a PROXY header is tracked until it does. Refused
    /// (<see langword="false"/>) while the server is closing or when <see cref="SmtpServerOptions.MaxClients"/> sockets
    /// are already waiting.
    /// </summary>
    internal bool TryEnterPending(long key, SmtpConnection connection)
    {
        if (IsClosing)
        {
            return false;
        }

        int count = Interlocked.Increment(ref _pendingCount);
        if (Options.MaxClients > 0 && count > Options.MaxClients)
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        _pendingSockets[key] = connection;
        if (IsClosing)
        {
            // Closing started in between: the abort below may have missed this socket.
            ExitPending(key);
            return false;
        }

        return true;
    }

    /// <summary>The socket reached the session (or failed).</summary>
    internal void ExitPending(long key)
    {
        if (_pendingSockets.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _pendingCount);
        }
    }

    /// <summary>On close: sockets still waiting for their PROXY header are dropped at once (they have no session to finish).</summary>
    private void AbortPendingSockets()
    {
        foreach (SmtpConnection connection in _pendingSockets.Values)
        {
            connection.Abort();
        }
    }
}
