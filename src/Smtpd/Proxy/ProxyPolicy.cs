namespace Smtpd;

/// <summary>The proxy-related peer lists of a server, parsed once when it is constructed.</summary>
internal sealed record ProxyPolicy(AddressMatcher ProxyPeers, AddressMatcher XClientPeers, AddressMatcher XForwardPeers, AddressMatcher IgnoredHosts)
{
    /// <summary>Everything off.</summary>
    public static ProxyPolicy Off { get; } = new(AddressMatcher.Nobody, AddressMatcher.Nobody, AddressMatcher.Nobody, AddressMatcher.Nobody);
}
