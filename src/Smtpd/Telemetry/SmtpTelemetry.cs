namespace Smtpd;

/// <summary>Names to subscribe to Smtpd's metrics and traces (for example with OpenTelemetry's <c>AddMeter</c>/<c>AddSource</c>).</summary>
public static class SmtpTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> every Smtpd instrument belongs to.</summary>
    public const string MeterName = "Smtpd";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> of Smtpd's traces: one <c>smtp.session</c> activity per connection and one <c>smtp.transaction</c> per mail transaction.</summary>
    public const string ActivitySourceName = "Smtpd";
}
