using Microsoft.Extensions.Logging;
using Smtpd.Server.Delivery;

namespace Smtpd.Server;

/// <summary>
/// The program's server: refuses recipients outside the <c>recipients</c> setting (550 5.1.1) and stores each message
/// (<see cref="IDeliveryTarget"/>: the folder store or a JetStream stream) before it is acknowledged. A message over <c>size</c> is refused (552 5.3.4) and
/// discarded; a target that cannot take it gives 451 4.3.0, so the client retries later.
/// </summary>
/// <param name="options">The bound options.</param>
/// <param name="target">Where accepted messages go.</param>
/// <param name="recipients">The recipient policy.</param>
/// <param name="logger">The program's logger.</param>
internal sealed class StoreSmtpServer(SmtpServerOptions options, IDeliveryTarget target, RecipientPolicy recipients, ILogger<StoreSmtpServer> logger)
    : SmtpServer(options)
{
    /// <inheritdoc/>
    protected override ValueTask<SmtpResult> OnRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        return recipients.Accepts(address.Address)
            ? base.OnRcptToAsync(address, session, cancellationToken)
            : new(SmtpResult.Reject(550, "Error: unknown recipient <" + address.Address + ">", "5.1.1"));
    }

    /// <inheritdoc/>
    protected override async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(session);
        try
        {
            string? id = await target.DeliverAsync(message, session, Options.Name, cancellationToken);
            if (id is null)
            {
                // Over size: the program sets RejectOversized, so the library answers with its own 552 5.3.4 whatever
                // this returns; the refusal keeps the handler's result truthful.
                LogMessage(session, message, null, "refused", 552);
                return SmtpResult.Reject(552, "Error: message too big", "5.3.4");
            }

            LogMessage(session, message, id, "accepted", 250);
            return SmtpResult.Accept((Options.Lmtp ? "OK: message accepted as " : "OK: message queued as ") + id);
        }
        catch (DeliveryException ex)
        {
            ServerLog.StoreFailed(logger, session.Id, ex.Message);
            LogMessage(session, message, null, "deferred", 451);
            return SmtpResult.Reject(451, "Error: cannot store the message now, try again later", "4.3.0");
        }
    }

    /// <summary>The operator's line per message; a message not stored has no store id, so the session id and transaction number name it.</summary>
    private void LogMessage(SmtpSession session, SmtpDataStream message, string? id, string outcome, int reply) =>
        ServerLog.Message(
            logger, id ?? session.Id + "-" + session.Transaction.ToString(System.Globalization.CultureInfo.InvariantCulture), outcome, reply,
            session.Envelope.MailFrom?.Address ?? "", session.ClientHostname, session.RemoteAddress, session.Envelope.RcptTo.Count, message.ByteLength);
}
