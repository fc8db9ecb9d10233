using System.Net;

namespace Smtpd;

/// <summary>
/// What the connections of one endpoint share, compiled once from the server's options with the endpoint's
/// replacements (<see cref="SmtpListenOptions"/>): the effective options, the pre-encoded replies and EHLO keywords,
/// the disabled-command table and the proxy trust. Immutable. The server has one for its own options (sockets and
/// streams handed to it, <see cref="SmtpServer.ListenAsync(EndPoint, CancellationToken)"/>) and one per listen options.
/// </summary>
internal sealed class EndpointContext
{
    private EndpointContext(ServerContext server, SmtpServerOptions options)
    {
        Server = server;
        Options = options;
        TlsMode = options.Secure ? SmtpTlsMode.Implicit : SmtpTlsMode.StartTls;
        Replies = new ReplyTable(options);
        AuthReplies = new AuthReplyTable(Replies);
        Capabilities = new CapabilityTable(options);
        DisabledCommands = BuildDisabledTable(options.DisabledCommands);
        Proxy = options.Proxy;
    }

    public ServerContext Server { get; }

    /// <summary>The server's options with this endpoint's replacements (a validated copy; never changed).</summary>
    public SmtpServerOptions Options { get; }

    /// <summary>Implicit TLS or STARTTLS (an endpoint without TLS has STARTTLS among its disabled commands).</summary>
    public SmtpTlsMode TlsMode { get; }

    public ReplyTable Replies { get; }

    public AuthReplyTable AuthReplies { get; }

    public CapabilityTable Capabilities { get; }

    /// <summary>Per <see cref="SmtpCommand"/>: disabled by <see cref="SmtpServerOptions.DisabledCommands"/>.</summary>
    public bool[] DisabledCommands { get; }

    public ProxyPolicy Proxy { get; }

    /// <summary>Compiles the endpoint of <paramref name="listen"/> (or of the server's own options).</summary>
    /// <exception cref="ArgumentException">A replacement cannot be used (an invalid trusted-peer entry, a negative size).</exception>
    public static EndpointContext Compile(ServerContext server, SmtpListenOptions? listen)
    {
        SmtpServerOptions options = listen?.ApplyTo(server.Options) ?? server.Options;
        if (listen is not null)
        {
            options.Validate();
            server.EnsureTls(options);
        }

        return new EndpointContext(server, options);
    }

    private static bool[] BuildDisabledTable(IList<string> disabled)
    {
        var table = new bool[CommandParser.Names.Length];
        foreach (string entry in disabled)
        {
            int index = Array.IndexOf(CommandParser.Names, entry.Trim().ToUpperInvariant());
            if (index > 0)
            {
                table[index] = true;
            }
        }

        return table;
    }
}
