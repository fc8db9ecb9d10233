using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Smtpd;
using Smtpd.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an Smtpd server that runs with the generic host (ASP.NET Core, worker services).</summary>
/// <example>
/// <code>
/// builder.Services.AddSmtpServer&lt;MailSink&gt;(builder.Configuration.GetSection("Smtp"));
///
/// // Handlers are the On…Async overrides; constructor parameters other than the options come from DI.
/// sealed class MailSink(SmtpServerOptions options, IMailQueue queue) : SmtpServer(options)
/// {
///     protected override async ValueTask&lt;SmtpResult&gt; OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken ct)
///     {
///         await queue.EnqueueAsync(session.Envelope, message, ct);
///         return SmtpResult.Accept();
///     }
/// }
/// </code>
/// </example>
public static class SmtpServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="SmtpServer"/> (handlers as delegates on the options) and a hosted service that starts it with
    /// the host and closes it gracefully when the host stops.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section with the settings (see <see cref="SmtpServerConfiguration"/>), or <see langword="null"/>.</param>
    /// <param name="configure">Changes the options after they were read from <paramref name="configuration"/> (handlers, loggers, …).</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddSmtpServer(this IServiceCollection services, IConfiguration? configuration = null, Action<SmtpServerOptions>? configure = null) =>
        services.AddSmtpServer<SmtpServer>(configuration, configure);

    /// <summary>
    /// Adds a server of type <typeparamref name="TServer"/>, a subclass of <see cref="SmtpServer"/> whose <c>On…Async</c>
    /// overrides are the handlers. It is created once, from dependency injection: its constructor receives the
    /// <see cref="SmtpServerOptions"/> and any registered service. It is registered as itself and as <see cref="SmtpServer"/>,
    /// and a hosted service starts it with the host and closes it gracefully when the host stops.
    /// </summary>
    /// <remarks>
    /// <para>The server logs through the host's <see cref="ILoggerFactory"/> (category <see cref="SmtpServerOptions.Component"/>)
    /// unless <see cref="SmtpServerOptions.Logger"/> or <see cref="SmtpServerOptions.LoggerFactory"/> is set or <c>logger</c> is false,
    /// and creates its meter with the host's <see cref="IMeterFactory"/> unless <see cref="SmtpServerOptions.MeterFactory"/> is set.</para>
    /// <para>When the host stops, the listeners close at once, idle sessions are closed after <see cref="SmtpServerOptions.CloseTimeout"/>
    /// and messages still arriving complete; whatever is left when the host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>,
    /// 30 s by default) expires is aborted. Give the host more than <see cref="SmtpServerOptions.CloseTimeout"/>, or shorten the latter.</para>
    /// <para>More settings can be added with <c>services.Configure&lt;SmtpServerOptions&gt;(…)</c> and endpoints with
    /// <c>services.Configure&lt;SmtpHostingOptions&gt;(…)</c>.</para>
    /// </remarks>
    /// <typeparam name="TServer">The server type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section with the settings (see <see cref="SmtpServerConfiguration"/>), or <see langword="null"/>.</param>
    /// <param name="configure">Changes the options after they were read from <paramref name="configuration"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddSmtpServer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TServer>(
        this IServiceCollection services, IConfiguration? configuration = null, Action<SmtpServerOptions>? configure = null)
        where TServer : SmtpServer
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<SmtpServerOptions> options = services.AddOptions<SmtpServerOptions>();
        if (configuration is not null)
        {
            options.Configure(o => SmtpServerConfiguration.Bind(configuration, o));
            services.AddOptions<SmtpHostingOptions>().Configure(o =>
            {
                foreach (SmtpListenOptions listen in SmtpServerConfiguration.ReadListenOptions(configuration))
                {
                    o.EndPoints.Add(listen);
                }
            });
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.PostConfigure<IServiceProvider>(static (o, provider) =>
        {
            if (o.Logger is null && o.LoggerFactory is null)
            {
                o.LoggerFactory = provider.GetService<ILoggerFactory>();
            }

            o.MeterFactory ??= provider.GetService<IMeterFactory>();
        });
        services.TryAddSingleton(static provider => ActivatorUtilities.CreateInstance<TServer>(provider, provider.GetRequiredService<IOptions<SmtpServerOptions>>().Value));
        if (typeof(TServer) != typeof(SmtpServer))
        {
            services.TryAddSingleton<SmtpServer>(static provider => provider.GetRequiredService<TServer>());
        }

        services.AddHostedService<SmtpServerHostedService>();
        return services;
    }
}
