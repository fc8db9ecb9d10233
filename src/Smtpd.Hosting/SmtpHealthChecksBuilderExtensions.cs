using Microsoft.Extensions.Diagnostics.HealthChecks;
using Smtpd.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the health check of the server registered by <c>AddSmtpServer</c>.</summary>
/// <example>
/// <code>
/// builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
/// builder.Services.AddHealthChecks().AddSmtpServerCheck();
/// app.MapHealthChecks("/healthz");   // ASP.NET Core
/// </code>
/// </example>
public static class SmtpHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that is healthy while the <see cref="Smtpd.SmtpServer"/> of <c>AddSmtpServer</c> listens and is not shutting
    /// down (every server, when several are registered under names). It reports <paramref name="failureStatus"/> before the
    /// server listens, as soon as the host starts stopping and while the server closes. Its data holds the bound endpoints
    /// and the number of open connections.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported when not listening or shutting down; <see langword="null"/> is <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddSmtpServerCheck(this IHealthChecksBuilder builder, string name = "smtp", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            static provider => ActivatorUtilities.CreateInstance<SmtpServerHealthCheck>(provider),
            failureStatus,
            tags));
    }
}
