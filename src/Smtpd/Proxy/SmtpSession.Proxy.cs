using System.Collections.ObjectModel;

namespace Smtpd;

public sealed partial class SmtpSession
{
    private Dictionary<string, string?>? _xClient;
    private Dictionary<string, string?>? _xForward;

    /// <summary>
    /// The PROXY protocol header the connection started with (announced client and destination, the proxy's address,
    /// version 2 TLVs such as <see cref="SmtpProxyHeader.Ssl"/> and <see cref="SmtpProxyHeader.Authority"/>), or
    /// <see langword="null"/> when there was none.
    /// </summary>
    public SmtpProxyHeader? ProxyHeader { get; internal set; }

    /// <summary>
    /// The attributes of the accepted <c>XCLIENT</c> commands, by upper-case name (<c>NAME</c>, <c>ADDR</c>, <c>PORT</c>,
    /// <c>PROTO</c>, <c>HELO</c>, <c>LOGIN</c>), xtext-decoded, <see langword="null"/> for <c>[UNAVAILABLE]</c> and
    /// <c>[TEMPUNAVAIL]</c>; plus <c>ADDR:DEFAULT</c>, <c>NAME:DEFAULT</c> and <c>PORT:DEFAULT</c> holding the values
    /// before the first override. Keys are case-insensitive. Empty until a trusted peer sent XCLIENT.
    /// </summary>
    public IReadOnlyDictionary<string, string?> XClient => _xClient ?? (IReadOnlyDictionary<string, string?>)ReadOnlyDictionary<string, string?>.Empty;

    /// <summary>
    /// The attributes of the accepted <c>XFORWARD</c> commands, by upper-case name (<c>NAME</c>, <c>ADDR</c>,
    /// <c>PORT</c>, <c>PROTO</c>, <c>HELO</c>, <c>IDENT</c>, <c>SOURCE</c>), xtext-decoded, <see langword="null"/> for
    /// <c>[UNAVAILABLE]</c>; plus <c>ADDR:DEFAULT</c> holding the address before the first override. Keys are
    /// case-insensitive. Empty until a trusted peer sent XFORWARD.
    /// </summary>
    public IReadOnlyDictionary<string, string?> XForward => _xForward ?? (IReadOnlyDictionary<string, string?>)ReadOnlyDictionary<string, string?>.Empty;

    /// <summary>The XCLIENT attributes for writing (created on first use).</summary>
    internal Dictionary<string, string?> XClientAttributes => _xClient ??= new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The XFORWARD attributes for writing (created on first use).</summary>
    internal Dictionary<string, string?> XForwardAttributes => _xForward ??= new(StringComparer.OrdinalIgnoreCase);
}
