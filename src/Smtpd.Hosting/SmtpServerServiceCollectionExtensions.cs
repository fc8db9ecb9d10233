using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Smtpd;
using Smtpd.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Smtpd servers that run with the generic host (ASP.NET Core, worker services).</summary>
/// <remarks>
/// <para>One server serves any number of endpoints, each with settings of its own (the <c>listen</c> entries of its
/// configuration, or <see cref="SmtpHostingOptions.EndPoints"/>): an MX on port 25 and submission on 465 and 587 is one
/// server. Servers that need different handlers or options beyond an endpoint's settings are registered under names,
/// each with its own configuration; they are keyed services (<c>[FromKeyedServices("mx")] SmtpServer</c>) with named
/// options (<c>services.Configure&lt;SmtpServerOptions&gt;("mx", …)</c>).</para>
/// <para>A second registration under a name already registered (the unnamed server included) throws
/// <see cref="InvalidOperationException"/>: two configurations are never merged into one server.</para>
/// </remarks>
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
    /// <exception cref="InvalidOperationException">The unnamed server is already registered.</exception>
    public static IServiceCollection AddSmtpServer(this IServiceCollection services, IConfiguration? configuration = null, Action<SmtpServerOptions>? configure = null) =>
        services.AddSmtpServer<SmtpServer>(Options.Options.DefaultName, configuration, configure);

    /// <summary>
    /// Adds an <see cref="SmtpServer"/> configured in code (handlers as delegates on the options) and a hosted service
    /// that starts it with the host. Its endpoints: <c>services.Configure&lt;SmtpHostingOptions&gt;(h =&gt; h.EndPoints.Add(…))</c>
    /// (default <see cref="SmtpHostingOptions.DefaultEndPoint"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">The unnamed server is already registered.</exception>
    public static IServiceCollection AddSmtpServer(this IServiceCollection services, Action<SmtpServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSmtpServer<SmtpServer>(Options.Options.DefaultName, null, configure);
    }

    /// <summary>
    /// Adds a server named <paramref name="name"/> (handlers as delegates on the options), with settings of its own, and
    /// a hosted service that starts it with the host. It is the keyed service <c>SmtpServer</c> of key <paramref name="name"/>;
    /// its options are the named options <paramref name="name"/> (<see cref="SmtpServerOptions"/>, <see cref="SmtpHostingOptions"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The server's name, unique among the registered servers.</param>
    /// <param name="configuration">A section with the settings (see <see cref="SmtpServerConfiguration"/>), or <see langword="null"/>.</param>
    /// <param name="configure">Changes the options after they were read from <paramref name="configuration"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">A server named <paramref name="name"/> is already registered.</exception>
    public static IServiceCollection AddSmtpServer(this IServiceCollection services, string name, IConfiguration? configuration, Action<SmtpServerOptions>? configure = null) =>
        services.AddSmtpServer<SmtpServer>(name, configuration, configure);

    /// <summary>Adds a server named <paramref name="name"/> configured in code; see <see cref="AddSmtpServer(IServiceCollection, string, IConfiguration?, Action{SmtpServerOptions}?)"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The server's name, unique among the registered servers.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">A server named <paramref name="name"/> is already registered.</exception>
    public static IServiceCollection AddSmtpServer(this IServiceCollection services, string name, Action<SmtpServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSmtpServer<SmtpServer>(name, null, configure);
    }

    /// <summary>
    /// Adds a server of type <typeparamref name="TServer"/>, a subclass of <see cref="SmtpServer"/> whose <c>On…Async</c>
    /// overrides are the handlers. It is created once, from dependency injection: its constructor receives the
    /// <see cref="SmtpServerOptions"/> and any registered service. It is registered as itself and as <see cref="SmtpServer"/>,
    /// and a hosted service starts it with the host and closes it gracefully when the host stops.
    /// </summary>
    /// <remarks>
    /// <para>The server logs through the host's <see cref="ILoggerFactory"/> (category <see cref="SmtpServerOptions.Component"/>,
    /// <c>Smtpd</c> by default; its levels decide what shows, whatever <c>logger</c> says) unless
    /// <see cref="SmtpServerOptions.Logger"/> or <see cref="SmtpServerOptions.LoggerFactory"/> is set, and creates its meter
    /// with the host's <see cref="IMeterFactory"/> unless <see cref="SmtpServerOptions.MeterFactory"/> is set.</para>
    /// <para>A key of <paramref name="configuration"/> that is not a setting, or a value that cannot be used, stops the
    /// host at start with an <see cref="SmtpConfigurationException"/> naming it.</para>
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
    /// <exception cref="InvalidOperationException">The unnamed server is already registered.</exception>
    public static IServiceCollection AddSmtpServer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TServer>(
        this IServiceCollection services, IConfiguration? configuration = null, Action<SmtpServerOptions>? configure = null)
        where TServer : SmtpServer =>
        services.AddSmtpServer<TServer>(Options.Options.DefaultName, configuration, configure);

    /// <summary>Adds a server of type <typeparamref name="TServer"/> configured in code; see <see cref="AddSmtpServer{TServer}(IServiceCollection, IConfiguration?, Action{SmtpServerOptions}?)"/>.</summary>
    /// <typeparam name="TServer">The server type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">The unnamed server is already registered.</exception>
    public static IServiceCollection AddSmtpServer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TServer>(
        this IServiceCollection services, Action<SmtpServerOptions> configure)
        where TServer : SmtpServer
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSmtpServer<TServer>(Options.Options.DefaultName, null, configure);
    }

    /// <summary>
    /// Adds a server of type <typeparamref name="TServer"/> named <paramref name="name"/>, with settings of its own. It is
    /// the keyed service <typeparamref name="TServer"/> and <see cref="SmtpServer"/> of key <paramref name="name"/> (the
    /// unnamed server, <see cref="Options.Options.DefaultName"/>, is also registered without a key); its options are the
    /// named options <paramref name="name"/>.
    /// </summary>
    /// <typeparam name="TServer">The server type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The server's name, unique among the registered servers.</param>
    /// <param name="configuration">A section with the settings (see <see cref="SmtpServerConfiguration"/>), or <see langword="null"/>.</param>
    /// <param name="configure">Changes the options after they were read from <paramref name="configuration"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">A server named <paramref name="name"/> is already registered.</exception>
    public static IServiceCollection AddSmtpServer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TServer>(
        this IServiceCollection services, string name, IConfiguration? configuration, Action<SmtpServerOptions>? configure = null)
        where TServer : SmtpServer
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        var registration = new SmtpServerRegistration(name, typeof(TServer));
        if (Registrations(services).FirstOrDefault(r => r.Name == name) is { } existing)
        {
            throw new InvalidOperationException(name.Length == 0
                ? $"AddSmtpServer: the unnamed server ({existing.ServerType.Name}) is already registered, and two configurations are never merged into one server. "
                    + "One server serves several endpoints, each with settings of its own (listen entries, SmtpHostingOptions.EndPoints); "
                    + "a second server needs a name of its own: AddSmtpServer(\"mx\", …), AddSmtpServer(\"submission\", …). "
                    + "To change the registered server's options, use services.Configure<SmtpServerOptions>(…)."
                : $"AddSmtpServer: a server named '{name}' ({existing.ServerType.Name}) is already registered; give each server a name of its own, "
                    + $"or change its options with services.Configure<SmtpServerOptions>(\"{name}\", …).");
        }

        services.AddSingleton(registration);
        OptionsBuilder<SmtpServerOptions> options = services.AddOptions<SmtpServerOptions>(name);
        OptionsBuilder<SmtpHostingOptions> hosting = services.AddOptions<SmtpHostingOptions>(name);
        if (configuration is not null)
        {
            options.Configure(o => SmtpServerConfiguration.Bind(configuration, o));
            hosting.Configure(h =>
            {
                foreach (SmtpListenOptions listen in SmtpServerConfiguration.ReadListenOptions(configuration))
                {
                    h.EndPoints.Add(listen);
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

        services.AddKeyedSingleton(name, static (provider, key) =>
            ActivatorUtilities.CreateInstance<TServer>(provider, provider.GetRequiredService<IOptionsMonitor<SmtpServerOptions>>().Get((string)key!)));
        if (typeof(TServer) != typeof(SmtpServer))
        {
            services.AddKeyedSingleton<SmtpServer>(name, static (provider, key) => provider.GetRequiredKeyedService<TServer>(key));
        }

        if (name.Length == 0)
        {
            services.TryAddSingleton(static provider => provider.GetRequiredKeyedService<TServer>(Options.Options.DefaultName));
            services.TryAddSingleton(static provider => provider.GetRequiredKeyedService<SmtpServer>(Options.Options.DefaultName));
        }

        services.AddSingleton<IHostedService>(provider => new SmtpServerHostedService(
            provider.GetRequiredKeyedService<SmtpServer>(name), provider.GetRequiredService<IOptionsMonitor<SmtpHostingOptions>>().Get(name)));
        return services;
    }

    /// <summary>Adds a server of type <typeparamref name="TServer"/> named <paramref name="name"/> configured in code; see <see cref="AddSmtpServer{TServer}(IServiceCollection, string, IConfiguration?, Action{SmtpServerOptions}?)"/>.</summary>
    /// <typeparam name="TServer">The server type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The server's name, unique among the registered servers.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">A server named <paramref name="name"/> is already registered.</exception>
    public static IServiceCollection AddSmtpServer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TServer>(
        this IServiceCollection services, string name, Action<SmtpServerOptions> configure)
        where TServer : SmtpServer
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSmtpServer<TServer>(name, null, configure);
    }

    /// <summary>The servers registered so far.</summary>
    internal static IEnumerable<SmtpServerRegistration> Registrations(IServiceCollection services) =>
        services.Where(d => d.ServiceType == typeof(SmtpServerRegistration) && !d.IsKeyedService)
            .Select(d => d.ImplementationInstance).OfType<SmtpServerRegistration>();
}
