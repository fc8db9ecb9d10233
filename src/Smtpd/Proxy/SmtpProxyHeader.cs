using System.Net;

namespace Smtpd;

/// <summary>
/// The PROXY protocol header a trusted proxy sent before the SMTP session (<see cref="SmtpSession.ProxyHeader"/>):
/// the announced client and destination, the proxy's own address, and for version 2 the TLVs.
/// </summary>
public sealed class SmtpProxyHeader
{
    internal SmtpProxyHeader(int version, IPEndPoint? source, IPEndPoint? destination, IPAddress proxyAddress, int proxyPort)
    {
        Version = version;
        Source = source;
        Destination = destination;
        ProxyAddress = proxyAddress;
        ProxyPort = proxyPort;
    }

    /// <summary>1 (text header) or 2 (binary header).</summary>
    public int Version { get; }

    /// <summary>
    /// The client as the proxy announced it, or <see langword="null"/> when the header announced none (v1
    /// <c>UNKNOWN</c>, v2 <c>LOCAL</c> such as a health check, or a v2 <c>UNSPEC</c>/<c>UNIX</c> family); the session
    /// then keeps the socket's peer. IPv4-mapped IPv6 addresses are given as IPv4.
    /// </summary>
    public IPEndPoint? Source { get; }

    /// <summary>The address and port the client connected to at the proxy, or <see langword="null"/> when not announced.</summary>
    public IPEndPoint? Destination { get; }

    /// <summary>The proxy itself: the socket peer that sent the header.</summary>
    public IPAddress ProxyAddress { get; }

    /// <summary>The proxy's source port on the socket.</summary>
    public int ProxyPort { get; }

    /// <summary>
    /// Every TLV of a version 2 header, in order (empty for version 1). The properties below interpret the known ones;
    /// a value they cannot interpret (text that is not UTF-8 or holds control characters, a malformed SSL TLV) leaves its
    /// property unset and is only here.
    /// </summary>
    public IReadOnlyList<SmtpProxyTlv> Tlvs { get; internal set; } = [];

    /// <summary>The host name the client asked the proxy for (TLS SNI), from the <c>PP2_TYPE_AUTHORITY</c> TLV.</summary>
    public string? Authority { get; internal set; }

    /// <summary>The application protocol negotiated between client and proxy (<c>PP2_TYPE_ALPN</c>).</summary>
    public string? Alpn { get; internal set; }

    /// <summary>
    /// The proxy's unique id of the connection (<c>PP2_TYPE_UNIQUE_ID</c>, e.g. HAProxy's <c>unique-id-format</c>): an
    /// opaque byte string of at most 128 bytes, often but not necessarily text. Empty when the proxy sent none (or one
    /// over 128 bytes, which stays in <see cref="Tlvs"/>).
    /// </summary>
    public ReadOnlyMemory<byte> UniqueId { get; internal set; }

    /// <summary>The network namespace of the client connection (<c>PP2_TYPE_NETNS</c>).</summary>
    public string? NetworkNamespace { get; internal set; }

    /// <summary>The client's TLS connection to the proxy (<c>PP2_TYPE_SSL</c>), or <see langword="null"/> when not sent.</summary>
    public SmtpProxySsl? Ssl { get; internal set; }

    /// <summary><see langword="true"/> when the header carried a CRC32C TLV, which was verified.</summary>
    public bool IsChecksumVerified { get; internal set; }
}
