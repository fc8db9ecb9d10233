using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Smtpd.Server.Admin;

/// <summary>Registers the <c>admin</c> endpoint and what it serves.</summary>
internal static class AdminServiceCollectionExtensions
{
    /// <summary>
    /// Adds the health checks (the library's server check and <see cref="DeliveryHealthCheck"/>), OpenTelemetry metrics for the <see cref="SmtpTelemetry.MeterName"/> meter with the
    /// Prometheus exporter, and the <see cref="AdminEndpoint"/> on <paramref name="endPoint"/> (registered before the SMTP
    /// server, it starts first: <c>/healthz</c> answers 503 until the server listens).
    /// </summary>
    public static IServiceCollection AddAdminEndpoint(this IServiceCollection services, IPEndPoint endPoint)
    {
        services.AddHealthChecks().AddSmtpServerCheck().AddCheck<DeliveryHealthCheck>("delivery");
        services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("smtpd")).WithMetrics(metrics => metrics.AddMeter(SmtpTelemetry.MeterName).AddPrometheusExporter());
        services.AddHostedService(provider => ActivatorUtilities.CreateInstance<AdminEndpoint>(provider, endPoint));
        return services;
    }
}
