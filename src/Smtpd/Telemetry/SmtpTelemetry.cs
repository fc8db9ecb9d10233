namespace Smtpd;

/// <summary>Names to subscribe to Smtpd's metrics and traces (for example with OpenTelemetry's <c>AddMeter</c>/<c>AddSource</c>).</summary>
public static class SmtpTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> every Smtpd instrument belongs to.</summary>
    public const string MeterName = "Smtpd";

    /// <summary>
    /// The name of the <see cref="System.Diagnostics.ActivitySource"/> of Smtpd's traces: one <see cref="SessionActivityName"/>
    /// span per connection and, inside it, one <see cref="TransactionActivityName"/> span per mail transaction.
    /// </summary>
    public const string ActivitySourceName = "Smtpd";

    /// <summary>The span of one connection's SMTP session (kind <c>Server</c>): <c>smtpd.session</c>.</summary>
    public const string SessionActivityName = "smtpd.session";

    /// <summary>The span of one mail transaction, from the accepted <c>MAIL FROM</c> to its end (kind <c>Internal</c>, a child of the session's): <c>smtpd.transaction</c>.</summary>
    public const string TransactionActivityName = "smtpd.transaction";
}
