using System.Net;

namespace Smtpd;

/// <summary>Looks up the host names of a client address (PTR records) for <see cref="SmtpSession.ClientHostname"/>.</summary>
public interface IReverseDnsResolver
{
    /// <summary>Returns the PTR names of <paramref name="address"/> (the first valid one is used), or an empty list.</summary>
    /// <param name="address">The client address.</param>
    /// <param name="cancellationToken">Cancelled when the lookup exceeds <see cref="SmtpServerOptions.ReverseLookupTimeout"/> or the connection ends.</param>
    ValueTask<IReadOnlyList<string>> ReverseAsync(IPAddress address, CancellationToken cancellationToken);
}
