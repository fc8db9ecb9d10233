using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Smtpd.Hosting;

namespace Smtpd.Server.Delivery;

/// <summary>Registers the program's delivery target.</summary>
internal static class DeliveryServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="IDeliveryTarget"/> the settings name (a <see cref="JetStreamTarget"/> when <c>store</c> lists
    /// NATS servers, else the <see cref="FolderStore"/>) and fits <c>size</c> to what it takes: with no <c>size</c> set,
    /// its limit becomes the advertised SIZE; a larger <c>size</c> is a configuration error. The caller runs
    /// <see cref="IDeliveryTarget.PrepareAsync"/> before the server's options are first read.
    /// </summary>
    public static IServiceCollection AddDeliveryTarget(this IServiceCollection services, ServerSettings settings)
    {
        services.AddSingleton<IDeliveryTarget>(provider => settings.JetStream is { } jetStream
            ? new JetStreamTarget(jetStream, provider.GetRequiredService<ILoggerFactory>())
            : new FolderStore(settings.Store));
        services.AddOptions<SmtpServerOptions>().PostConfigure<IDeliveryTarget>(static (options, target) =>
        {
            if (target.MaxMessageSize is not { } limit)
            {
                return;
            }

            if (options.Size == 0)
            {
                options.Size = limit;
            }
            else if (options.Size > limit)
            {
                throw new SmtpConfigurationException(
                    $"size: {options.Size} is more than {target.Description} takes ({limit} bytes; raise the NATS server's max_payload)");
            }
        });
        return services;
    }
}
