using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;

namespace Smtpd;

/// <summary>What <see cref="ConnectionRegistry.Admit"/> decided about a new socket.</summary>
internal enum Admission
{
    /// <summary>There is room.</summary>
    Admitted,

    /// <summary>There is room again after refusals (the end of an episode, logged once).</summary>
    AdmittedAgain,

    /// <summary>The descriptor cap is reached: the first refusal of an episode (logged once).</summary>
    RefusedFirst,

    /// <summary>The descriptor cap is reached.</summary>
    Refused,
}

/// <summary>
/// The server's live connections, from the moment they are accepted until their close handler has finished: the
/// heartbeat that ticks their deadlines (one timer for the whole server), the cap the descriptor limit sets on sockets
/// (<see cref="DescriptorBudget"/>), the client slots of <see cref="SmtpServerOptions.MaxClients"/> and the connections
/// of each client address (<see cref="SmtpServerOptions.MaxConnectionsPerClient"/>), the counters of sockets still in
/// their PROXY header or implicit TLS handshake, and what a graceful close needs (stop, wake idle sessions, abort, know
/// when every connection is gone).
/// </summary>
internal sealed class ConnectionRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, SmtpConnection> _connections = new();
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer _heartbeat;
    private readonly int _maxClients;
    private readonly Dictionary<IPAddress, int>? _perClient;
    private long _nextKey;
    private int _registered;
    private int _overCap;
    private int _clients;
    private int _pendingProxyHeaders;
    private int _pendingHandshakes;
    private volatile bool _closing;

    /// <summary>Creates the registry; the heartbeat ticks every tenth of <paramref name="socketTimeoutMs"/> (10 ms to 1 s).</summary>
    /// <param name="options">The server's options (client limits).</param>
    /// <param name="socketTimeoutMs">The socket timeout.</param>
    /// <param name="descriptorCap">The sockets the descriptor limit leaves room for, or <see langword="null"/> when unknown.</param>
    public ConnectionRegistry(SmtpServerOptions options, long socketTimeoutMs, int? descriptorCap)
    {
        _maxClients = options.MaxClients;
        DescriptorCap = descriptorCap ?? 0;

        // By default one address may hold half of the slots (Postfix's smtpd_client_connection_count_limit against its process limit).
        int slots = _maxClients > 0 ? _maxClients : DescriptorCap;
        MaxConnectionsPerClient = options.MaxConnectionsPerClient ?? (slots > 0 ? Math.Max(1, slots / 2) : 0);
        _perClient = MaxConnectionsPerClient > 0 ? [] : null;
        long tick = Math.Clamp(socketTimeoutMs / 10, 10, 1000);
        _heartbeat = TimeProvider.System.CreateTimer(static state => ((ConnectionRegistry)state!).OnHeartbeat(), this, TimeSpan.FromMilliseconds(tick), TimeSpan.FromMilliseconds(tick));
    }

    /// <summary>Connections accepted and not yet finished (their close handler included).</summary>
    public int Count => Volatile.Read(ref _registered);

    /// <summary>The sockets the descriptor limit leaves room for; 0 when the limit is unknown.</summary>
    public int DescriptorCap { get; }

    /// <summary>The connections one client address may hold; 0 means no limit.</summary>
    public int MaxConnectionsPerClient { get; }

    /// <summary>The server is closing: no new connection is accepted, every command gets <c>421</c>.</summary>
    public bool IsClosing => _closing;

    /// <summary>Completes when the server is closing and every connection has finished.</summary>
    public Task AllClosed => _allClosed.Task;

    /// <summary>Sockets that have not yet delivered their PROXY header.</summary>
    public int PendingProxyHeaders => Volatile.Read(ref _pendingProxyHeaders);

    /// <summary>Registers a connection as soon as it is accepted (or handed over), so a close waits for it.</summary>
    public void Register(SmtpConnection connection)
    {
        connection.Key = Interlocked.Increment(ref _nextKey);
        Interlocked.Increment(ref _registered);
        _connections[connection.Key] = connection;
    }

    /// <summary>
    /// Registers a connection the listener has just accepted, unless a close has started: a close that found no
    /// connection may already have finished, and nothing may run after it. <see langword="false"/> (nothing registered)
    /// when closing; the caller closes the socket.
    /// </summary>
    public bool TryRegisterAccepted(SmtpConnection connection)
    {
        Register(connection);

        // Pairs with the fence in BeginClose: either the close sees this connection (and waits for it), or this sees the close.
        Interlocked.MemoryBarrier();
        if (!_closing)
        {
            return true;
        }

        Unregister(connection);
        return false;
    }

    /// <summary>The connection has finished, its close handler included.</summary>
    public void Unregister(SmtpConnection connection)
    {
        if (_connections.TryRemove(connection.Key, out _))
        {
            Interlocked.Decrement(ref _registered);
        }

        CheckAllClosed();
    }

    /// <summary>
    /// At accept: is there room for one more socket under the descriptor cap? An episode of refusals starts at the first
    /// refusal and ends once the connections are a tenth below the cap, so that each is logged once.
    /// </summary>
    public Admission Admit()
    {
        if (DescriptorCap == 0)
        {
            return Admission.Admitted;
        }

        int count = Count;
        if (count >= DescriptorCap)
        {
            return Interlocked.Exchange(ref _overCap, 1) == 0 ? Admission.RefusedFirst : Admission.Refused;
        }

        return Volatile.Read(ref _overCap) == 1 && count <= DescriptorCap - Math.Max(1, DescriptorCap / 10) && Interlocked.Exchange(ref _overCap, 0) == 1
            ? Admission.AdmittedAgain
            : Admission.Admitted;
    }

    /// <summary>Counts a session of <paramref name="client"/>; <see langword="false"/> (nothing counted) when the address already holds <see cref="MaxConnectionsPerClient"/>.</summary>
    public bool TryAcquireClientAddress(IPAddress client)
    {
        if (_perClient is null)
        {
            return true;
        }

        lock (_perClient)
        {
            ref int count = ref CollectionsMarshal.GetValueRefOrAddDefault(_perClient, client, out _);
            if (count >= MaxConnectionsPerClient)
            {
                return false;
            }

            count++;
            return true;
        }
    }

    /// <summary>The session of <paramref name="client"/> counted by <see cref="TryAcquireClientAddress"/> is over.</summary>
    public void ReleaseClientAddress(IPAddress client)
    {
        if (_perClient is null)
        {
            return;
        }

        lock (_perClient)
        {
            ref int count = ref CollectionsMarshal.GetValueRefOrNullRef(_perClient, client);
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref count) && --count <= 0)
            {
                _perClient.Remove(client);
            }
        }
    }

    /// <summary>Takes a client slot; <see langword="false"/> when <see cref="SmtpServerOptions.MaxClients"/> sessions are running (the slot is still counted: release it).</summary>
    public bool TryAcquireClientSlot()
    {
        int count = Interlocked.Increment(ref _clients);
        return _maxClients <= 0 || count <= _maxClients;
    }

    public void ReleaseClientSlot() => Interlocked.Decrement(ref _clients);

    /// <summary>
    /// Counts a socket that must first deliver a PROXY header; refused while closing or when
    /// <see cref="SmtpServerOptions.MaxClients"/> sockets already wait. The connection marks itself as waiting before it
    /// calls this, so a close that starts meanwhile either sees the mark (and aborts it) or is seen here.
    /// </summary>
    public bool TryBeginProxyHeader()
    {
        if (_closing || !TryBegin(ref _pendingProxyHeaders))
        {
            return false;
        }

        return !_closing || Undo(ref _pendingProxyHeaders);
    }

    public void EndProxyHeader() => Interlocked.Decrement(ref _pendingProxyHeaders);

    /// <summary>Counts a connection that waits for its implicit TLS handshake, capped by <see cref="SmtpServerOptions.MaxClients"/> (the reference's pre-session guard).</summary>
    public bool TryBeginHandshake() => TryBegin(ref _pendingHandshakes);

    public void EndHandshake() => Interlocked.Decrement(ref _pendingHandshakes);

    /// <summary>Starts a close: no more connections; those still in a PROXY header or implicit handshake are dropped at once.</summary>
    public void BeginClose()
    {
        _closing = true;

        // A connection marks itself as waiting before it looks at the flag: after this fence, either it sees the flag or we see its mark.
        Interlocked.MemoryBarrier();
        foreach (SmtpConnection connection in _connections.Values)
        {
            connection.AbortIfNotStarted();
        }

        CheckAllClosed();
    }

    /// <summary>After the close timeout: idle sessions get <c>421</c> now; one receiving a message completes it first.</summary>
    public void RequestShutdown()
    {
        foreach (SmtpConnection connection in _connections.Values)
        {
            connection.Timeouts.RequestShutdown();
        }
    }

    /// <summary>Tears every connection down.</summary>
    public void AbortAll()
    {
        foreach (SmtpConnection connection in _connections.Values)
        {
            connection.Abort();
        }
    }

    /// <summary>Stops the heartbeat.</summary>
    public ValueTask DisposeAsync() => _heartbeat.DisposeAsync();

    private bool TryBegin(ref int pending)
    {
        int count = Interlocked.Increment(ref pending);
        return _maxClients <= 0 || count <= _maxClients || Undo(ref pending);
    }

    private static bool Undo(ref int pending)
    {
        Interlocked.Decrement(ref pending);
        return false;
    }

    private void CheckAllClosed()
    {
        if (_closing && _connections.IsEmpty)
        {
            _allClosed.TrySetResult();
        }
    }

    private void OnHeartbeat()
    {
        long now = Environment.TickCount64;
        foreach (KeyValuePair<long, SmtpConnection> entry in _connections)
        {
            entry.Value.Timeouts.OnHeartbeat(now);
        }
    }
}
