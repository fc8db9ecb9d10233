namespace Smtpd;

public partial class SmtpServer
{
    private int _pendingCount;

    /// <summary>The number of accepted sockets that have not yet delivered their PROXY header.</summary>
    internal int PendingSocketCount => Volatile.Read(ref _pendingCount);

    /// <summary>
    /// The pre-session guard: counts a socket that must first deliver a PROXY header. Refused (<see langword="false"/>)
    /// while the server is closing or when <see cref="SmtpServerOptions.MaxClients"/> sockets are already waiting.
    /// The connection marks itself as waiting before it calls this, so a close that starts meanwhile either sees the
    /// mark (and aborts it) or is seen here.
    /// </summary>
    internal bool TryBeginPendingProxyHeader()
    {
        if (IsClosing)
        {
            return false;
        }

        int count = Interlocked.Increment(ref _pendingCount);
        if ((Options.MaxClients > 0 && count > Options.MaxClients) || IsClosing)
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        return true;
    }

    /// <summary>The socket reached the session (or failed).</summary>
    internal void EndPendingProxyHeader() => Interlocked.Decrement(ref _pendingCount);

    /// <summary>On close: sockets still waiting for their PROXY header are dropped at once (they have no session to finish).</summary>
    private void AbortPendingSockets()
    {
        foreach (SmtpConnection connection in _connections.Values)
        {
            connection.AbortPendingProxyHeader();
        }
    }
}
