using System.Net;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>The client's host name from reverse DNS, bounded by <see cref="SmtpServerOptions.ReverseLookupTimeout"/>; <c>[address]</c> otherwise.</summary>
internal static class ReverseLookup
{
    /// <summary>Sets <see cref="SmtpSession.ClientHostname"/>: the validated PTR name, or the bracketed address.</summary>
    public static async ValueTask ResolveAsync(SmtpSession session, SmtpServerOptions options, ConnectionTransport transport, ILogger logger)
    {
        session.ClientHostname = session.BracketedRemoteAddress;
        if (options.DisableReverseLookup || session.RemoteAddress.Equals(IPAddress.None))
        {
            return;
        }

        IReverseDnsResolver resolver = options.Resolver ?? SystemReverseDnsResolver.Instance;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(transport.Aborted);
        timeout.CancelAfter(options.ReverseLookupTimeout);
        try
        {
            IReadOnlyList<string> names = await resolver.ReverseAsync(session.RemoteAddress, timeout.Token).AsTask()
                .WaitAsync(options.ReverseLookupTimeout, transport.Aborted);
            string? name = names.Count > 0 ? HostnameRules.Normalize(names[0]) : null;
            if (name is not null)
            {
                session.ClientHostname = name;
            }
        }
        catch (Exception ex) when (!transport.IsAborted)
        {
            SmtpLog.ReverseDnsFailed(logger, session.Id, session.RemoteAddress, ex);
        }
    }
}
