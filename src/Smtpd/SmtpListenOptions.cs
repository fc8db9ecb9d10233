using System.Net;

namespace Smtpd;

/// <summary>
/// One endpoint of a server with its own rules, in the manner of Kestrel's <c>ListenOptions</c>: one server can serve
/// port 25 (plaintext with STARTTLS, AUTH optional), 465 (implicit TLS) and 587 (submission, AUTH required) at once.
/// Every setting left <see langword="null"/> is the server's (<see cref="SmtpServerOptions"/>); the others replace it for
/// connections on this endpoint only. Pass it to <see cref="SmtpServer.ListenAsync(SmtpListenOptions, CancellationToken)"/>;
/// it is read once, then later changes have no effect.
/// </summary>
/// <example>
/// <code>
/// await server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Any, 25)) { AuthOptional = true });
/// await server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Any, 465)) { TlsMode = SmtpTlsMode.Implicit });
/// await server.ListenAsync(new SmtpListenOptions(new IPEndPoint(IPAddress.Any, 587)) { AuthOptional = false });
/// </code>
/// </example>
/// <param name="endPoint">An <see cref="IPEndPoint"/> (port 0 picks a free port) or a <see cref="System.Net.Sockets.UnixDomainSocketEndPoint"/>.</param>
public sealed class SmtpListenOptions(EndPoint endPoint)
{
    /// <summary>Where to listen.</summary>
    public EndPoint EndPoint { get; } = endPoint ?? throw new ArgumentNullException(nameof(endPoint));

    /// <summary>TLS on this endpoint; <see langword="null"/>: <see cref="SmtpTlsMode.Implicit"/> when <see cref="SmtpServerOptions.Secure"/>, else <see cref="SmtpTlsMode.StartTls"/>.</summary>
    public SmtpTlsMode? TlsMode { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.HideStartTls"/>.</summary>
    public bool? HideStartTls { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.AuthOptional"/>.</summary>
    public bool? AuthOptional { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.AllowInsecureAuth"/>.</summary>
    public bool? AllowInsecureAuth { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.AuthMethods"/> (an empty list: no AUTH on this endpoint).</summary>
    public IList<string>? AuthMethods { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.UseProxy"/>.</summary>
    public TrustedPeers? UseProxy { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.UseXClient"/>.</summary>
    public TrustedPeers? UseXClient { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.UseXForward"/>.</summary>
    public TrustedPeers? UseXForward { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.Lmtp"/>.</summary>
    public bool? Lmtp { get; set; }

    /// <summary>Replaces <see cref="SmtpServerOptions.Size"/>.</summary>
    public long? Size { get; set; }

    /// <summary>Endpoint options with nothing replaced.</summary>
    /// <param name="endPoint">Where to listen.</param>
    public static implicit operator SmtpListenOptions(EndPoint endPoint) => new(endPoint);

    /// <summary>Endpoint options with nothing replaced.</summary>
    /// <param name="endPoint">Where to listen.</param>
    public static SmtpListenOptions FromEndPoint(EndPoint endPoint) => new(endPoint);

    /// <inheritdoc/>
    public override string ToString() => EndPoint.ToString() ?? "";

    /// <summary>The server's options with this endpoint's replacements applied (a copy).</summary>
    internal SmtpServerOptions ApplyTo(SmtpServerOptions serverOptions)
    {
        SmtpServerOptions options = serverOptions.Clone();
        SmtpTlsMode mode = TlsMode ?? (serverOptions.Secure ? SmtpTlsMode.Implicit : SmtpTlsMode.StartTls);
        options.Secure = mode == SmtpTlsMode.Implicit;
        options.HideStartTls = HideStartTls ?? options.HideStartTls;
        options.AuthOptional = AuthOptional ?? options.AuthOptional;
        options.AllowInsecureAuth = AllowInsecureAuth ?? options.AllowInsecureAuth;
        options.AuthMethods = AuthMethods is null ? options.AuthMethods : [.. AuthMethods];
        options.UseProxy = UseProxy ?? options.UseProxy;
        options.UseXClient = UseXClient ?? options.UseXClient;
        options.UseXForward = UseXForward ?? options.UseXForward;
        options.Lmtp = Lmtp ?? options.Lmtp;
        options.Size = Size ?? options.Size;
        if (mode == SmtpTlsMode.None && !options.DisabledCommands.Any(c => string.Equals(c?.Trim(), "STARTTLS", StringComparison.OrdinalIgnoreCase)))
        {
            options.DisabledCommands.Add("STARTTLS");
        }

        return options;
    }
}
