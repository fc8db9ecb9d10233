using System.Diagnostics;

namespace Smtpd;

/// <summary>
/// Smtpd's <see cref="ActivitySource"/>: one activity per session and per mail transaction, only when someone listens
/// (<see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns <see langword="null"/> otherwise).
/// </summary>
internal static class SmtpActivities
{
    public static readonly ActivitySource Source = new(SmtpTelemetry.ActivitySourceName, typeof(SmtpActivities).Assembly.GetName().Version?.ToString());

    public static Activity? StartSession(SmtpSession session)
    {
        Activity? activity = Source.StartActivity("smtp.session", ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("smtpd.session.id", session.Id);
            activity.SetTag("network.peer.address", session.RemoteAddress.ToString());
            activity.SetTag("network.peer.port", session.RemotePort);
            activity.SetTag("server.port", session.LocalPort);
        }

        return activity;
    }

    public static Activity? StartTransaction(SmtpSession session, string sender)
    {
        Activity? activity = Source.StartActivity("smtp.transaction", ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("smtpd.session.id", session.Id);
            activity.SetTag("smtpd.transaction", session.Transaction);
            activity.SetTag("smtp.mail_from", sender);
        }

        return activity;
    }
}
