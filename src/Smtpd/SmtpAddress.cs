namespace Smtpd;

/// <summary>
/// An address from <c>MAIL FROM</c> or <c>RCPT TO</c> with its parameters, as the client sent them
/// (after source-route removal, IDNA decoding and IPv6 literal normalisation).
/// </summary>
public sealed class SmtpAddress
{
    internal static readonly IReadOnlyDictionary<string, string?> NoArgs = new Dictionary<string, string?>(0);

    /// <summary>Creates an address.</summary>
    /// <param name="address">The mailbox, or the empty string for the null sender <c>&lt;&gt;</c>.</param>
    /// <param name="args">The parameters; see <see cref="Args"/>.</param>
    public SmtpAddress(string address, IReadOnlyDictionary<string, string?>? args = null)
    {
        Address = address ?? throw new ArgumentNullException(nameof(address));
        Args = args ?? NoArgs;
    }

    /// <summary>The mailbox (<c>user@example.com</c>), or the empty string for the null sender.</summary>
    public string Address { get; }

    /// <summary>
    /// The ESMTP parameters: upper-cased keys, xtext-decoded values; a parameter given without a value (a flag
    /// such as <c>SMTPUTF8</c>, or <c>KEY=</c>) has a <see langword="null"/> value. Empty when there were none.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Args { get; }

    /// <summary>DSN data of a recipient (<c>NOTIFY</c>, <c>ORCPT</c>), present when DSN is enabled (<see cref="SmtpServerOptions.HideDsn"/> is false).</summary>
    public SmtpRecipientDsn? Dsn { get; init; }

    /// <summary><see langword="true"/> for the null reverse-path <c>&lt;&gt;</c>.</summary>
    public bool IsNullSender => Address.Length == 0;

    /// <inheritdoc/>
    public override string ToString() => "<" + Address + ">";
}

/// <summary>DSN parameters of one recipient (RFC 3461).</summary>
/// <param name="Notify">The upper-cased <c>NOTIFY</c> values (NEVER, SUCCESS, FAILURE, DELAY), or <see langword="null"/> when absent.</param>
/// <param name="Orcpt">The decoded <c>ORCPT</c> value (<c>rfc822;user@example.com</c>), or <see langword="null"/> when absent.</param>
public sealed record SmtpRecipientDsn(IReadOnlyList<string>? Notify, string? Orcpt);

/// <summary>DSN parameters of a transaction (RFC 3461), from <c>MAIL FROM</c>.</summary>
public sealed class SmtpEnvelopeDsn
{
    /// <summary><c>RET</c>: <c>FULL</c> or <c>HDRS</c>, or <see langword="null"/>.</summary>
    public string? Ret { get; internal set; }

    /// <summary><c>ENVID</c>, xtext-decoded, or <see langword="null"/>.</summary>
    public string? EnvId { get; internal set; }
}
