using System.Net;

namespace Smtpd.Hosting;

/// <summary>
/// Where the hosted server listens. Bound from the <c>listen</c> setting of the configuration given to <c>AddSmtpServer</c>;
/// in code, <c>services.Configure&lt;SmtpHostingOptions&gt;(h =&gt; h.EndPoints.Add(…))</c> (for a server registered under a
/// name, the named options of that name).
/// </summary>
public sealed class SmtpHostingOptions
{
    /// <summary>The address used when no endpoint is configured: <c>127.0.0.1:2525</c>.</summary>
    public static readonly IPEndPoint DefaultEndPoint = new(IPAddress.Loopback, 2525);

    /// <summary>
    /// The endpoints to listen on, each with its own settings (<see cref="SmtpListenOptions"/>; an <see cref="EndPoint"/>
    /// converts to one with the server's settings). An <see cref="IPEndPoint"/> with port 0 picks a free port; the bound
    /// ports are in <see cref="SmtpServer.EndPoints"/>. Empty means <see cref="DefaultEndPoint"/>.
    /// </summary>
    public IList<SmtpListenOptions> EndPoints { get; } = [];
}
