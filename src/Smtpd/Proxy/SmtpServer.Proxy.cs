namespace Smtpd;

public partial class SmtpServer
{
    /// <summary>The number of accepted sockets that have not yet delivered their PROXY header.</summary>
    internal int PendingSocketCount => _context.Connections.PendingProxyHeaders;
}
