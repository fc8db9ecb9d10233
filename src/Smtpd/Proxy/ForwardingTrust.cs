using System.Net;

namespace Smtpd;

/// <summary>
/// Whether the peer may forward what it knows about the client (XCLIENT, XFORWARD), decided once from its address
/// (the socket peer, or the client a PROXY header announced) before the session starts.
/// </summary>
internal struct ForwardingTrust
{
    /// <summary>The peer is trusted for XCLIENT (<see cref="SmtpServerOptions.UseXClient"/>).</summary>
    public bool XClient;

    /// <summary>The peer is trusted for XFORWARD (<see cref="SmtpServerOptions.UseXForward"/>).</summary>
    public bool XForward;

    /// <summary>An XCLIENT ADDR was accepted: the session is now another client's, and neither command is offered any more.</summary>
    public bool ClientReplaced;

    /// <summary>The trusted peer's own address, for the log.</summary>
    public IPAddress Peer;

    /// <summary>EHLO lists XCLIENT: the peer is trusted and no XCLIENT ADDR was accepted yet.</summary>
    public readonly bool IsXClientOffered => XClient && !ClientReplaced;

    /// <summary>EHLO lists XFORWARD: the peer is trusted and no XCLIENT ADDR was accepted yet.</summary>
    public readonly bool IsXForwardOffered => XForward && !ClientReplaced;

    /// <summary>The trust of <paramref name="client"/> under <paramref name="policy"/>.</summary>
    public static ForwardingTrust For(ProxyPolicy policy, IPAddress client) => new()
    {
        XClient = policy.XClientPeers.Contains(client),
        XForward = policy.XForwardPeers.Contains(client),
        Peer = client,
    };
}
