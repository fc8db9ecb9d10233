using System.Diagnostics;

namespace Smtpd;

/// <summary>
/// Smtpd's <see cref="ActivitySource"/>: one server span per session and, inside it, one internal span per mail
/// transaction, only when someone listens (<see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns
/// <see langword="null"/> otherwise). Attributes as the metrics name them (docs/telemetry.md).
/// </summary>
internal static class SmtpActivities
{
    public static readonly ActivitySource Source = new(SmtpTelemetry.ActivitySourceName, typeof(SmtpActivities).Assembly.GetName().Version?.ToString());

    /// <summary>The span of a connection: the server side of the client's SMTP session.</summary>
    public static Activity? StartSession(SmtpSession session)
    {
        Activity? activity = Source.StartActivity(SmtpTelemetry.SessionActivityName, ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("smtpd.session.id", session.Id);
            activity.SetTag("network.peer.address", session.RemoteAddress.ToString());
            activity.SetTag("network.peer.port", session.RemotePort);
            foreach (KeyValuePair<string, object?> tag in SmtpMetrics.ConnectionTags(session))
            {
                activity.SetTag(tag.Key, tag.Value);
            }
        }

        return activity;
    }

    /// <summary>
    /// The span of a mail transaction, a child of the session's (not a second server span). The sender's address is
    /// personal data: it is recorded only with <see cref="SmtpServerOptions.TraceSenderAddress"/>.
    /// </summary>
    public static Activity? StartTransaction(SmtpSession session, string sender, bool traceSender)
    {
        Activity? activity = Source.StartActivity(SmtpTelemetry.TransactionActivityName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("smtpd.session.id", session.Id);
            activity.SetTag("smtpd.transaction.number", session.Transaction);
            if (traceSender)
            {
                activity.SetTag("smtpd.mail_from", sender);
            }
        }

        return activity;
    }
}
