using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Smtpd.Hosting;

/// <summary>
/// Healthy while every <see cref="SmtpServer"/> registered by <c>AddSmtpServer</c> listens on at least one endpoint and
/// none is shutting down; unhealthy before they listen, once the host is stopping (so a load balancer stops sending new
/// clients while sessions finish) and once a server is closing. Added by <c>AddSmtpServerCheck</c>.
/// </summary>
/// <param name="provider">Resolves the servers.</param>
/// <param name="registrations">The registered servers.</param>
/// <param name="lifetime">The host's lifetime, when there is a host.</param>
internal sealed class SmtpServerHealthCheck(IServiceProvider provider, IEnumerable<SmtpServerRegistration> registrations, IHostApplicationLifetime? lifetime = null) : IHealthCheck
{
    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        List<(SmtpServerRegistration Registration, SmtpServer Server)> servers =
            [.. registrations.Select(r => (r, provider.GetRequiredKeyedService<SmtpServer>(r.Name)))];
        EndPoint[] endPoints = [.. servers.SelectMany(s => s.Server.EndPoints)];
        var data = new Dictionary<string, object>
        {
            ["endpoints"] = endPoints.Select(e => e.ToString() ?? "").ToArray(),
            ["connections"] = servers.Sum(s => s.Server.ConnectionCount),
        };

        // One server is described as before; several name the one that is not ready.
        string Which(SmtpServerRegistration registration) => servers.Count == 1 ? "" : $" ({registration.DisplayName})";
        HealthCheckResult result;
        if (servers.Count == 0)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "No Smtpd server is registered (AddSmtpServer)", data: data);
        }
        else if (lifetime?.ApplicationStopping.IsCancellationRequested == true)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "Shutting down", data: data);
        }
        else if (servers.FirstOrDefault(s => s.Server.IsClosing) is { Server: not null } closing)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "Shutting down" + Which(closing.Registration), data: data);
        }
        else if (servers.FirstOrDefault(s => s.Server.EndPoints.Count == 0) is { Server: not null } idle)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "Not listening" + Which(idle.Registration), data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"Listening on {string.Join(", ", endPoints.Select(e => e.ToString()))}"), data);
        }

        return Task.FromResult(result);
    }
}
