namespace Smtpd.Server.Delivery;

/// <summary>
/// Where the program puts an accepted message before it answers 250: the <see cref="FolderStore"/> (the default) or a
/// NATS JetStream stream. Either way the message is the same pair: the <c>.eml</c> bytes
/// (<see cref="TraceFields"/>, then the message exactly as received) and the <c>.json</c> envelope (<see cref="EnvelopeJson"/>).
/// </summary>
internal interface IDeliveryTarget : IAsyncDisposable
{
    /// <summary>Names the target in the program's log line (a folder, or the stream and its servers).</summary>
    string Description { get; }

    /// <summary>The largest message (bytes after dot-unstuffing, trace fields excluded) the target can take; null when
    /// only the disk limits it.</summary>
    long? MaxMessageSize { get; }

    /// <summary>Whether a message delivered now can be acknowledged (the admin endpoint's health check).</summary>
    bool IsAvailable { get; }

    /// <summary>Makes the target ready at start: folders made, or the connection opened and the stream checked.</summary>
    /// <param name="cancellationToken">Cancelled when the program stops before it is ready.</param>
    /// <exception cref="Hosting.SmtpConfigurationException">The target is misconfigured or unusable: the program must not start.</exception>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads the message to its end and delivers it durably. Returns the message id once it is durable (the caller then
    /// answers 250), or <see langword="null"/> when the message was over the size limit and was discarded.
    /// </summary>
    /// <param name="message">The DATA stream.</param>
    /// <param name="session">The session with the envelope.</param>
    /// <param name="serverName">The server's name for the <c>Received:</c> field.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <exception cref="DeliveryException">The target could not take the message; nothing was delivered.</exception>
    /// <exception cref="IOException">The client's connection failed before the end of the message; nothing was delivered.</exception>
    Task<string?> DeliverAsync(SmtpDataStream message, SmtpSession session, string serverName, CancellationToken cancellationToken);
}
