namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>
    /// HAProxy PROXY protocol (version 1 text and version 2 binary). <see cref="TrustedPeers.All"/> (<c>true</c>): every
    /// connection must start with a PROXY header. A list: only connections from those addresses/CIDR ranges must
    /// (everyone else connects directly and a PROXY line from them is just an unknown command). The announced client
    /// address and port become <see cref="SmtpSession.RemoteAddress"/>/<see cref="SmtpSession.RemotePort"/>; the local
    /// endpoint stays the socket's. A malformed, oversized (v1: 107 bytes, v2: 4096 bytes) or slow (beyond
    /// <see cref="SocketTimeout"/>) header gets <c>* BAD Invalid PROXY header</c> or is dropped. Sockets still waiting
    /// for their header count toward <see cref="MaxClients"/>. Default <see cref="TrustedPeers.None"/>.
    /// </summary>
    public TrustedPeers UseProxy { get; set; } = TrustedPeers.None;

    /// <summary>
    /// Client addresses and CIDR ranges (direct peers, or the client announced by a PROXY header) whose connections are
    /// served but never logged and raise no connection handlers (<see cref="OnConnect"/>, <see cref="OnClose"/>):
    /// load-balancer health checks. Default empty.
    /// </summary>
    public IList<string> IgnoredHosts { get; set; } = [];

    /// <summary>
    /// Postfix <c>XCLIENT</c>: a trusted peer (every peer with <see cref="TrustedPeers.All"/>, or the listed addresses
    /// and ranges, matched against the socket peer or the PROXY-announced client) may override the client's address,
    /// port, host name, HELO name, protocol and login. Advertised in EHLO to trusted peers only until an
    /// <c>XCLIENT ADDR</c> succeeded; others get <c>550 Error: Not allowed</c>. Default <see cref="TrustedPeers.None"/>.
    /// </summary>
    public TrustedPeers UseXClient { get; set; } = TrustedPeers.None;

    /// <summary>
    /// Postfix <c>XFORWARD</c>: a trusted peer (same rules as <see cref="UseXClient"/>) may forward the original
    /// client's name, address, port, protocol, HELO name, queue id and source. Default <see cref="TrustedPeers.None"/>.
    /// </summary>
    public TrustedPeers UseXForward { get; set; } = TrustedPeers.None;

    /// <summary>The parsed proxy lists, built by <see cref="ValidateProxy"/> when the server is constructed.</summary>
    internal ProxyPolicy Proxy { get; private set; } = ProxyPolicy.Off;

    private static void CloneProxy(SmtpServerOptions copy)
    {
        copy.IgnoredHosts = copy.IgnoredHosts is null ? null! : [.. copy.IgnoredHosts];
    }

    private void ValidateProxy()
    {
        ArgumentNullException.ThrowIfNull(UseProxy);
        ArgumentNullException.ThrowIfNull(UseXClient);
        ArgumentNullException.ThrowIfNull(UseXForward);
        ArgumentNullException.ThrowIfNull(IgnoredHosts);
        Proxy = new ProxyPolicy(
            UseProxy.Compile(nameof(UseProxy)),
            UseXClient.Compile(nameof(UseXClient)),
            UseXForward.Compile(nameof(UseXForward)),
            AddressMatcher.Parse(IgnoredHosts, nameof(IgnoredHosts), allowWildcard: false));
    }
}
