using System.Net;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>The operating system's resolver (<see cref="System.Net.Dns"/>); the default <see cref="IReverseDnsResolver"/>.</summary>
public sealed class SystemReverseDnsResolver : IReverseDnsResolver
{
    /// <summary>The shared instance.</summary>
    public static SystemReverseDnsResolver Instance { get; } = new();

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<string>> ReverseAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        try
        {
            IPHostEntry entry = await System.Net.Dns.GetHostEntryAsync(address.ToString(), System.Net.Sockets.AddressFamily.Unspecified, cancellationToken);
            return string.IsNullOrEmpty(entry.HostName) || IPAddress.TryParse(entry.HostName, out _) ? [] : [entry.HostName];
        }
        catch (SocketException)
        {
            return [];
        }
    }
}
