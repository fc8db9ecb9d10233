using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Smtpd.Server.Delivery;

namespace Smtpd.Server.Admin;

/// <summary>
/// Healthy while the server listens and the delivery target can take messages: a load balancer polling <c>/healthz</c>
/// takes the instance out while NATS is unreachable (or the stream does not acknowledge) and while the program stops.
/// </summary>
internal sealed class DeliveryHealthCheck(SmtpServer server, IDeliveryTarget target, IHostApplicationLifetime lifetime) : IHealthCheck
{
    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            lifetime.ApplicationStopping.IsCancellationRequested ? HealthCheckResult.Unhealthy("stopping")
            : server.EndPoints.Count == 0 ? HealthCheckResult.Unhealthy("not listening")
            : !target.IsAvailable ? HealthCheckResult.Unhealthy("delivery target unavailable: " + target.Description)
            : HealthCheckResult.Healthy());
}
