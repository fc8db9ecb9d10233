using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Smtpd.Hosting;

namespace Smtpd.Server.Delivery;

/// <summary>Registers and prepares the program's delivery target.</summary>
internal static class DeliveryServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="IDeliveryTarget"/> the settings name: a <see cref="JetStreamTarget"/> when <c>store</c>
    /// lists NATS servers, else the <see cref="FolderStore"/>.
    /// </summary>
    public static IServiceCollection AddDeliveryTarget(this IServiceCollection services, ServerSettings settings) =>
        services.AddSingleton<IDeliveryTarget>(provider => settings.JetStream is { } jetStream
            ? new JetStreamTarget(jetStream, provider.GetRequiredService<ILoggerFactory>())
            : new FolderStore(settings.Store));

    /// <summary>
    /// Prepares the target (<see cref="IDeliveryTarget.PrepareAsync"/>), then fits <c>size</c> to what it takes: with no
    /// <c>size</c> set, its limit becomes the advertised SIZE; a larger <c>size</c> is a configuration error. Runs before
    /// the host starts, so the server is created with the fitted options.
    /// </summary>
    /// <exception cref="SmtpConfigurationException">The target is unusable, or <c>size</c> is more than it takes.</exception>
    public static async Task PrepareDeliveryAsync(this IServiceProvider services, CancellationToken cancellationToken)
    {
        IDeliveryTarget target = services.GetRequiredService<IDeliveryTarget>();
        await target.PrepareAsync(cancellationToken);
        if (target.MaxMessageSize is not { } limit)
        {
            return;
        }

        SmtpServerOptions options = services.GetRequiredService<IOptions<SmtpServerOptions>>().Value;
        if (options.Size == 0)
        {
            options.Size = limit;
        }
        else if (options.Size > limit)
        {
            throw new SmtpConfigurationException($"size: {options.Size} is more than {target.Description} takes ({limit} bytes; raise the NATS server's max_payload or the stream's max_msg_size)");
        }
    }
}
