using Microsoft.Extensions.Diagnostics.HealthChecks;
using Smtpd.Server.Delivery;

namespace Smtpd.Server.Admin;

/// <summary>
/// Healthy while the delivery target can take messages; with the library's server check (listening, not stopping) it
/// makes <c>/healthz</c>: a load balancer polling it takes the instance out while NATS is unreachable or the stream
/// does not acknowledge, and puts it back by itself.
/// </summary>
internal sealed class DeliveryHealthCheck(IDeliveryTarget target) : IHealthCheck
{
    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(target.IsAvailable
            ? HealthCheckResult.Healthy("Delivering to " + target.Description)
            : new HealthCheckResult(context.Registration.FailureStatus, "Unavailable: " + target.Description));
}
