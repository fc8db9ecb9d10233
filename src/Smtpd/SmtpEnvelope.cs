namespace Smtpd;

/// <summary>The envelope of the current transaction: sender, recipients and the MAIL parameters that apply to the message.</summary>
public sealed class SmtpEnvelope
{
    private List<SmtpAddress>? _rcptTo;

    internal SmtpEnvelope(bool dsn)
    {
        Dsn = dsn ? new SmtpEnvelopeDsn() : null;
    }

    /// <summary>The accepted sender, or <see langword="null"/> before <c>MAIL FROM</c> was accepted.</summary>
    public SmtpAddress? MailFrom { get; internal set; }

    /// <summary>The accepted recipients, unique by case-insensitive address, in the order they were accepted.</summary>
    public IReadOnlyList<SmtpAddress> RcptTo => (IReadOnlyList<SmtpAddress>?)_rcptTo ?? [];

    /// <summary>The body type of <c>BODY=BINARYMIME</c> (RFC 3030).</summary>
    internal const string BinaryMime = "binarymime";

    /// <summary>
    /// The lower-cased <c>BODY</c> parameter: <c>7bit</c> (default), <c>8bitmime</c>, or <c>binarymime</c> when
    /// <see cref="SmtpServerOptions.HideChunking"/> is false (such a message arrives with BDAT only).
    /// </summary>
    public string BodyType { get; internal set; } = "7bit";

    /// <summary><see langword="true"/> when <c>MAIL FROM</c> carried <c>SMTPUTF8</c>.</summary>
    public bool SmtpUtf8 { get; internal set; }

    /// <summary><see langword="true"/> when <c>MAIL FROM</c> carried <c>REQUIRETLS</c> (RFC 8689).</summary>
    public bool RequireTls { get; internal set; }

    /// <summary>DSN data (<c>RET</c>, <c>ENVID</c>), present only when DSN is enabled.</summary>
    public SmtpEnvelopeDsn? Dsn { get; }

    /// <summary>The list to add recipients to, made with the first one.</summary>
    internal List<SmtpAddress> Recipients => _rcptTo ??= [];

    /// <summary><see langword="true"/> while nothing has been written into this envelope.</summary>
    internal bool IsPristine =>
        MailFrom is null && (_rcptTo is null || _rcptTo.Count == 0) && !SmtpUtf8 && !RequireTls && ReferenceEquals(BodyType, "7bit")
        && (Dsn is null || (Dsn.Ret is null && Dsn.EnvId is null));
}
