using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Smtpd.Hosting;

/// <summary>
/// Healthy while the <see cref="SmtpServer"/> listens on at least one endpoint and is not shutting down; unhealthy
/// before it listens, once the host is stopping (so a load balancer stops sending new clients while sessions finish)
/// and once the server is closing. Added by <c>AddSmtpServerCheck</c>.
/// </summary>
/// <param name="server">The server registered by <c>AddSmtpServer</c>.</param>
/// <param name="lifetime">The host's lifetime, when there is a host.</param>
internal sealed class SmtpServerHealthCheck(SmtpServer server, IHostApplicationLifetime? lifetime = null) : IHealthCheck
{
    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<System.Net.EndPoint> endPoints = server.EndPoints;
        var data = new Dictionary<string, object>
        {
            ["endpoints"] = endPoints.Select(e => e.ToString() ?? "").ToArray(),
            ["connections"] = server.ConnectionCount,
        };
        HealthCheckResult result;
        if (server.IsClosing || lifetime?.ApplicationStopping.IsCancellationRequested == true)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "Shutting down", data: data);
        }
        else if (endPoints.Count == 0)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "Not listening", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"Listening on {string.Join(", ", endPoints)}"), data);
        }

        return Task.FromResult(result);
    }
}
