using System.Globalization;

namespace Smtpd.Server.Delivery;

/// <summary>
/// The id of an accepted message: the UTC time of receipt, the session id and the transaction number on that connection
/// (<c>20250101T120000-0123456789abcdef-1</c>), so <c>ls</c> sorts by arrival. It names the files of the folder store and
/// is the <c>Nats-Msg-Id</c> of a JetStream message; session ids are random, so ids are unique across instances.
/// </summary>
internal static class MessageId
{
    /// <summary>The id of the current transaction of <paramref name="session"/>, received at <paramref name="now"/>.</summary>
    public static string Create(SmtpSession session, DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture) + "-" + session.Id + "-"
        + session.Transaction.ToString(CultureInfo.InvariantCulture);
}
