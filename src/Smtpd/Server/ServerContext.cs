using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Smtpd;

/// <summary>
/// What every connection of a server shares, compiled once when the server is constructed (Kestrel's
/// <c>ServiceContext</c>): the options (a validated copy), the logger, the metrics, the connection registry with its
/// heartbeat, the timeouts and the minimum data rate, and the TLS material. Nothing here changes while the server runs except the TLS
/// material, which <see cref="SmtpServer.UpdateSecureContext"/> replaces as a whole for new handshakes.
/// </summary>
internal sealed class ServerContext
{
    private readonly Lock _tlsLock = new();
    private TlsContext? _tls;

    public ServerContext(SmtpServer server, SmtpServerOptions options, bool hasConnectHandler, CancellationToken stopping)
    {
        Server = server;
        Options = options;
        Logger = CreateLogger(options);

        // First what can refuse the options (a certificate that does not load), then what holds resources.
        UseTls(TlsContext.Create(options), updated: false);
        Metrics = new SmtpMetrics(options.MeterFactory);
        SocketTimeoutMs = (long)options.SocketTimeout.TotalMilliseconds;
        CommandTimeoutMs = Math.Min(SocketTimeoutMs, (long)options.CommandTimeout.TotalMilliseconds);
        DataRate = options.MinDataRate > 0 ? new DataRate(options.MinDataRate, options.MinDataRateGracePeriod) : DataRate.None;
        AuthFailures = new AuthFailureLimiter(options.MaxAuthFailuresPerClient, options.AuthFailureWindow);
        Connections = new ConnectionRegistry(options, SocketTimeoutMs, DescriptorBudget.ConnectionCap());
        if (Connections.DescriptorCap > 0)
        {
            SmtpLog.ConnectionCaps(Logger, Connections.DescriptorCap, DescriptorBudget.ReadSoftLimit() ?? 0, Connections.MaxConnectionsPerClient);
        }

        HasConnectHandler = hasConnectHandler;
        StoppingToken = stopping;
        DefaultEndpoint = EndpointContext.Compile(this, null);
    }

    /// <summary>The server: its handlers and the session handler factory.</summary>
    public SmtpServer Server { get; }

    /// <summary>The server's options, validated; never changed (endpoints apply their replacements to copies).</summary>
    public SmtpServerOptions Options { get; }

    public ILogger Logger { get; }

    public SmtpMetrics Metrics { get; }

    public ConnectionRegistry Connections { get; }

    /// <summary><see cref="SmtpServerOptions.SocketTimeout"/> in milliseconds.</summary>
    public long SocketTimeoutMs { get; }

    /// <summary>The time a command line may take from its first byte: <see cref="SmtpServerOptions.CommandTimeout"/>, at most the socket timeout.</summary>
    public long CommandTimeoutMs { get; }

    /// <summary>Failed authentications per client address, across connections and endpoints.</summary>
    public AuthFailureLimiter AuthFailures { get; }

    /// <summary>The minimum data rate of messages.</summary>
    public DataRate DataRate { get; }

    /// <summary>Whether a connect handler may exist (a delegate, an override, or session handlers); without one, connecting costs no handler call.</summary>
    public bool HasConnectHandler { get; }

    /// <summary>Cancelled when the server is disposed; given to the close handlers.</summary>
    public CancellationToken StoppingToken { get; }

    /// <summary>The endpoint of the server's own options.</summary>
    public EndpointContext DefaultEndpoint { get; }

    /// <summary>The TLS material new handshakes use, or <see langword="null"/> when no endpoint does a handshake.</summary>
    public TlsContext? Tls => Volatile.Read(ref _tls);

    public bool IsClosing => Connections.IsClosing;

    /// <summary>Makes <paramref name="context"/> the material of new handshakes, and logs what an operator must know about it.</summary>
    public void UseTls(TlsContext? context, bool updated)
    {
        lock (_tlsLock)
        {
            Volatile.Write(ref _tls, context);
        }

        LogTls(context, updated);
    }

    /// <summary>An endpoint that does handshakes although the server's own options do not: prepares the TLS material now.</summary>
    public void EnsureTls(SmtpServerOptions endpointOptions)
    {
        TlsContext? created = null;
        lock (_tlsLock)
        {
            if (_tls is null && TlsContext.Create(endpointOptions) is { } context)
            {
                Volatile.Write(ref _tls, context);
                created = context;
            }
        }

        LogTls(created, updated: false);
    }

    private void LogTls(TlsContext? context, bool updated)
    {
        if (context is null)
        {
            return;
        }

        foreach (string entry in context.UnknownCipherEntries)
        {
            SmtpLog.UnknownCipherEntry(Logger, entry);
        }

        if (updated)
        {
            SmtpLog.TlsContextUpdated(Logger, context.DefaultCertificate.Certificate.Subject);
        }
        else if (context.IsGenerated)
        {
            SmtpLog.GeneratedCertificate(Logger, Options.Name);
        }
    }

    /// <summary>The options' logger or logger factory; else the console (<see cref="SmtpServerOptions.LogToConsole"/>); else nothing.</summary>
    private static ILogger CreateLogger(SmtpServerOptions options)
    {
        if (options.Logger is not null)
        {
            return options.Logger;
        }

        if (options.LoggerFactory is not null)
        {
            return options.LoggerFactory.CreateLogger(options.Component);
        }

        return options.LogToConsole ? new ConsoleLogger(options.Component) : NullLogger.Instance;
    }
}
