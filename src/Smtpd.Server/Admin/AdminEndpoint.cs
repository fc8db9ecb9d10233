using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Smtpd.Hosting;

namespace Smtpd.Server.Admin;

/// <summary>
/// The <c>admin</c> HTTP endpoint: <c>GET /healthz</c> (ASP.NET Core health checks: 200 <c>Healthy</c>, or 503
/// <c>Unhealthy</c>, see <see cref="DeliveryHealthCheck"/>) and <c>GET /metrics</c> (the OpenTelemetry Prometheus
/// exporter: the library's <c>Smtpd</c> meter in Prometheus text format). A small Kestrel application of its own, started
/// just before the SMTP listener and stopped with the program; it uses the program's health checks, meters and logging.
/// </summary>
internal sealed class AdminEndpoint(IPEndPoint endPoint, HealthCheckService health, MeterProvider meters, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <inheritdoc/>
    /// <exception cref="SmtpConfigurationException">The endpoint cannot listen (port in use, address not here).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(endPoint));
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton(health);
        builder.Services.AddSingleton(loggerFactory);
        WebApplication app = builder.Build();
        app.MapHealthChecks("/healthz");
        app.MapPrometheusScrapingEndpoint("/metrics", meters, configureBranchedPipeline: null, optionsName: null);
        _app = app;
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw new SmtpConfigurationException($"admin: cannot listen on {endPoint}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => _app?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _app?.DisposeAsync() ?? ValueTask.CompletedTask;
}
