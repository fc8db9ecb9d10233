using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// The server's instruments, named as OpenTelemetry's semantic conventions name them (Kestrel's style: <c>smtpd.</c>
/// instruments, the unit in the unit field, attributes <c>smtpd.*</c> or the conventions' own <c>server.*</c>,
/// <c>network.*</c>, <c>tls.*</c>, <c>error.type</c>): connections, refusals, TLS, AUTH, messages, sizes and durations.
/// Every recording checks <c>Enabled</c> first, so an unobserved server pays nothing.
/// </summary>
internal sealed class SmtpMetrics : IDisposable
{
    private static readonly object?[] CommandTags = Enum.GetNames<SmtpCommand>().Select(n => (object?)(n == "Unknown" ? "_OTHER" : n.ToUpperInvariant())).ToArray();

    private readonly UpDownCounter<long> _activeConnections;
    private readonly Counter<long> _connections;
    private readonly Counter<long> _refusedConnections;
    private readonly Histogram<double> _connectionDuration;
    private readonly Counter<long> _tlsHandshakes;
    private readonly Histogram<double> _tlsHandshakeDuration;
    private readonly Counter<long> _authAttempts;
    private readonly Counter<long> _authRateLimited;
    private readonly Counter<long> _messages;
    private readonly Histogram<long> _messageSize;
    private readonly Histogram<double> _commandDuration;
    private readonly Histogram<double> _transactionDuration;
    private readonly Meter? _ownedMeter;

    public SmtpMetrics(IMeterFactory? meterFactory)
    {
        // A factory's meters belong to the factory; without one the server owns its meter and disposes it.
        Meter meter = meterFactory?.Create(new MeterOptions(SmtpTelemetry.MeterName)) ?? (_ownedMeter = new Meter(SmtpTelemetry.MeterName));
        _activeConnections = meter.CreateUpDownCounter<long>("smtpd.active_connections", "{connection}", "Connections currently open.");
        _connections = meter.CreateCounter<long>("smtpd.connections", "{connection}", "Connections accepted since start.");
        _refusedConnections = meter.CreateCounter<long>("smtpd.refused_connections", "{connection}", "Connections refused or dropped before or at the greeting, by reason.");
        _connectionDuration = meter.CreateHistogram<double>("smtpd.connection.duration", "s", "How long connections stay open.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300] });
        _tlsHandshakes = meter.CreateCounter<long>("smtpd.tls.handshakes", "{handshake}", "TLS handshakes (implicit and STARTTLS), with error.type on failure.");
        _tlsHandshakeDuration = meter.CreateHistogram<double>("smtpd.tls.handshake.duration", "s", "Duration of TLS handshakes.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5] });
        _authAttempts = meter.CreateCounter<long>("smtpd.auth.attempts", "{attempt}", "AUTH exchanges, by mechanism and result.");
        _authRateLimited = meter.CreateCounter<long>("smtpd.auth.rate_limited", "{command}", "AUTH commands refused with 454 because the client address failed too often (MaxAuthFailuresPerClient).");
        _messages = meter.CreateCounter<long>("smtpd.messages", "{message}", "Messages whose DATA ended, by result (accepted or refused).");
        _messageSize = meter.CreateHistogram<long>("smtpd.message.size", "By", "Size of the messages whose DATA ended (after dot-unstuffing), by result.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });
        _commandDuration = meter.CreateHistogram<double>("smtpd.command.duration", "s", "Time from a command line to its reply, by command.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] });
        _transactionDuration = meter.CreateHistogram<double>("smtpd.transaction.duration", "s", "Time from an accepted MAIL FROM to the reply after DATA, by result.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60] });
    }

    public bool CommandDurationEnabled => _commandDuration.Enabled;

    /// <summary>
    /// Where a connection arrived, as the connection instruments are tagged: <c>network.transport</c> (<c>tcp</c>,
    /// <c>unix</c>; absent for a stream handed to the server), and for IP <c>network.type</c> (<c>ipv4</c>, <c>ipv6</c>),
    /// <c>server.address</c> and <c>server.port</c> (the socket's local address: PROXY never changes it).
    /// </summary>
    public static TagList ConnectionTags(SmtpSession session) =>
        ConnectionTags(session.NetworkTransport, session.LocalAddress.Equals(IPAddress.None) ? null : session.LocalAddress, session.LocalPort);

    /// <summary>The connection tags of a socket no session was made for (<see cref="ConnectionTags(SmtpSession)"/>).</summary>
    public static TagList ConnectionTags(Socket socket, IPEndPoint? local) =>
        ConnectionTags(socket.AddressFamily == AddressFamily.Unix ? "unix" : "tcp", local is null ? null : IpText.Normalize(local.Address), local?.Port ?? 0);

    private static TagList ConnectionTags(string? transport, IPAddress? localAddress, int localPort)
    {
        var tags = new TagList();
        if (transport is not null)
        {
            tags.Add("network.transport", transport);
        }

        if (localAddress is not null)
        {
            tags.Add("network.type", localAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4");
            tags.Add("server.address", localAddress.ToString());
            tags.Add("server.port", localPort);
        }

        return tags;
    }

    /// <summary>A connection whose session starts. <see langword="false"/> when <c>smtpd.active_connections</c> did not count it (nobody listened), so its close must not either.</summary>
    public bool ConnectionOpened(SmtpSession session, out TagList tags)
    {
        bool active = _activeConnections.Enabled;
        tags = active || _connections.Enabled || _connectionDuration.Enabled ? ConnectionTags(session) : default;
        if (active)
        {
            _activeConnections.Add(1, tags);
        }

        if (_connections.Enabled)
        {
            _connections.Add(1, tags);
        }

        return active;
    }

    /// <summary>The end of a connection <see cref="ConnectionOpened"/> counted, with the same tags.</summary>
    public void ConnectionClosed(long startTimestamp, bool active, in TagList tags)
    {
        if (active)
        {
            _activeConnections.Add(-1, tags);
        }

        if (_connectionDuration.Enabled)
        {
            _connectionDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        }
    }

    /// <summary>A connection refused or dropped before its session could run.</summary>
    /// <param name="reason">One of: <c>max_clients</c>, <c>max_connections_per_client</c>, <c>descriptor_limit</c>, <c>connect_handler</c>, <c>early_talker</c>, <c>proxy_header</c>, <c>tls_handshake</c>, <c>secure_handler</c>.</param>
    /// <param name="session">The connection's session (its local address and transport); <see langword="null"/> for a socket refused at accept, before it has one.</param>
    public void ConnectionRefused(string reason, SmtpSession session)
    {
        if (_refusedConnections.Enabled)
        {
            TagList tags = ConnectionTags(session);
            tags.Add("smtpd.refusal.reason", reason);
            _refusedConnections.Add(1, tags);
        }
    }

    /// <summary>A socket refused at accept, before any session (<paramref name="local"/>: the address it arrived on).</summary>
    public void ConnectionRefused(string reason, Socket socket, IPEndPoint? local)
    {
        if (_refusedConnections.Enabled)
        {
            TagList tags = ConnectionTags(socket, local);
            tags.Add("smtpd.refusal.reason", reason);
            _refusedConnections.Add(1, tags);
        }
    }

    /// <summary>A finished TLS handshake; <paramref name="errorType"/> is null on success.</summary>
    public void TlsHandshake(long startTimestamp, string? protocol, string? errorType)
    {
        var tags = new TagList();
        if (protocol is not null)
        {
            tags.Add("tls.protocol.version", protocol);
        }

        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        if (_tlsHandshakes.Enabled)
        {
            _tlsHandshakes.Add(1, tags);
        }

        if (_tlsHandshakeDuration.Enabled)
        {
            _tlsHandshakeDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        }
    }

    public void AuthAttempt(string mechanism, bool success)
    {
        if (_authAttempts.Enabled)
        {
            _authAttempts.Add(1, new KeyValuePair<string, object?>("smtpd.auth.mechanism", mechanism),
                new KeyValuePair<string, object?>("smtpd.auth.result", success ? "success" : "failure"));
        }
    }

    public void AuthRateLimited()
    {
        if (_authRateLimited.Enabled)
        {
            _authRateLimited.Add(1);
        }
    }

    public void Message(bool accepted, long bytes, long transactionStart)
    {
        var result = new KeyValuePair<string, object?>("smtpd.message.result", accepted ? "accepted" : "refused");
        if (_messages.Enabled)
        {
            _messages.Add(1, result);
        }

        if (_messageSize.Enabled)
        {
            _messageSize.Record(bytes, result);
        }

        if (_transactionDuration.Enabled && transactionStart != 0)
        {
            _transactionDuration.Record(Stopwatch.GetElapsedTime(transactionStart).TotalSeconds, result);
        }
    }

    public void Command(SmtpCommand command, long startTimestamp) =>
        _commandDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("smtpd.command", CommandTags[(int)command]));

    /// <summary>Disposes the meter the server created itself (none when a factory made it).</summary>
    public void Dispose() => _ownedMeter?.Dispose();
}
