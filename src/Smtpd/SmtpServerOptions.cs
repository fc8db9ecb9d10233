using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// Everything that configures an <see cref="SmtpServer"/>: the options of nodemailer's smtp-server under their
/// PascalCase names, plus Smtpd's own. Read once when the server is constructed; later changes have no effect
/// (except certificates, see the TLS options).
/// </summary>
/// <remarks><c>docs/options.md</c> maps every option to the reference, with its default and effect.</remarks>
public sealed partial class SmtpServerOptions
{
    /// <summary>The server's host name, used in the greeting, the HELO/EHLO reply and some error texts. Default: the machine's host name.</summary>
    public string Name { get; set; } = System.Net.Dns.GetHostName();

    /// <summary>Text appended to the greeting after <c>ESMTP</c>/<c>LMTP</c>.</summary>
    public string? Banner { get; set; }

    /// <summary>Format of the HELO reply and of the first EHLO line: each <c>%s</c> is replaced in turn by the server name and the client's host name (further ones by nothing).</summary>
    public string HeloResponse { get; set; } = "%s Nice to meet you, %s";

    /// <summary>Maximum message size in bytes; 0 means no limit. When set, <c>SIZE</c> is advertised, <c>MAIL FROM … SIZE=</c> above it gets 552 and the DATA stream flags <see cref="SmtpDataStream.SizeExceeded"/>.</summary>
    public long Size { get; set; }

    /// <summary>Advertise <c>SIZE</c> without the number and do not refuse <c>MAIL FROM … SIZE=</c> above the limit.</summary>
    public bool HideSize { get; set; }

    /// <summary>With <see cref="Size"/>: answer <c>552 5.3.4</c> to a message that was larger than <see cref="Size"/>, whatever the DATA handler returned.</summary>
    public bool RejectOversized { get; set; }

    /// <summary>Speak LMTP (RFC 2033) instead of SMTP: LHLO instead of HELO/EHLO, one reply per recipient after DATA.</summary>
    public bool Lmtp { get; set; }

    /// <summary>
    /// The reference's <c>logger: true</c>: when neither <see cref="Logger"/> nor <see cref="LoggerFactory"/> is set, log
    /// to standard output (one line per entry, debug level and up, in the format of .NET's simple console logger).
    /// </summary>
    public bool LogToConsole { get; set; }

    /// <summary>The logger to write every log line to. Takes precedence over <see cref="LoggerFactory"/>.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>The default <see cref="Component"/>: <c>Smtpd</c>.</summary>
    public const string DefaultComponent = "Smtpd";

    /// <summary>The logger factory to create the server's logger from, under the category <see cref="Component"/>.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Record the sender's address (<c>MAIL FROM</c>) on the transaction's span, as the <c>smtpd.mail_from</c> attribute.
    /// Off by default: an address is personal data, and traces often go where personal data should not.
    /// </summary>
    public bool TraceSenderAddress { get; set; }

    /// <summary>Creates the <see cref="System.Diagnostics.Metrics.Meter"/> named <see cref="SmtpTelemetry.MeterName"/> (from DI in hosted applications); <see langword="null"/> uses a meter of the server's own.</summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// The category of the server's log lines (the reference's <c>component</c>, which it adds to every entry; .NET
    /// logging shows the category with every entry). Default <c>Smtpd</c>, so <c>Logging:LogLevel:Smtpd</c> sets the
    /// level of the library's lines; several servers in one process may keep them apart under it (<c>Smtpd.Mx</c>,
    /// <c>Smtpd.Submission</c>).
    /// </summary>
    public string Component { get; set; } = DefaultComponent;

    /// <summary>Commands that behave as unknown (<c>500</c>) and are not advertised, e.g. <c>AUTH</c>, <c>STARTTLS</c>. Case-insensitive.</summary>
    public IList<string> DisabledCommands { get; set; } = [];

    /// <summary>Do not advertise <c>PIPELINING</c> (pipelined commands still work).</summary>
    public bool HidePipelining { get; set; }

    /// <summary>Do not advertise <c>8BITMIME</c> (<c>BODY=</c> is still accepted).</summary>
    public bool Hide8BitMime { get; set; }

    /// <summary>Do not advertise <c>SMTPUTF8</c> (the parameter is still accepted).</summary>
    public bool HideSmtpUtf8 { get; set; }

    /// <summary>When false, advertise <c>ENHANCEDSTATUSCODES</c> and put RFC 3463 codes into replies. Default true, as the reference.</summary>
    public bool HideEnhancedStatusCodes { get; set; } = true;

    /// <summary>When false, advertise <c>DSN</c> and validate <c>RET</c>, <c>ENVID</c>, <c>NOTIFY</c> and <c>ORCPT</c> into <see cref="SmtpEnvelope.Dsn"/> and <see cref="SmtpAddress.Dsn"/>. Default true.</summary>
    public bool HideDsn { get; set; } = true;

    /// <summary>When false, advertise <c>REQUIRETLS</c> (RFC 8689) on secure connections. Default true. The parameter is validated either way.</summary>
    public bool HideRequireTls { get; set; } = true;

    /// <summary>
    /// When false, advertise <c>CHUNKING</c> and <c>BINARYMIME</c> (RFC 3030): <c>BDAT</c> streams each chunk into the
    /// same <see cref="OnData"/> stream as DATA, and <c>MAIL FROM … BODY=BINARYMIME</c> is accepted. Default true: the
    /// EHLO reply is the reference's and <c>BDAT</c> is an unrecognized command.
    /// </summary>
    public bool HideChunking { get; set; } = true;

    /// <summary>
    /// When false, advertise <c>LIMITS</c> (RFC 9422) with <c>RCPTMAX=</c><see cref="MaxRecipients"/> and
    /// <c>MAILMAX=</c><see cref="MaxTransactions"/> (each only when set; nothing is advertised when neither is). Default true.
    /// </summary>
    public bool HideLimits { get; set; } = true;

    /// <summary>Idle timeout: a client that sends nothing for this long gets <c>421 Timeout - closing connection</c>. Also bounds the TLS handshake and the PROXY header. Default 60 s.</summary>
    public TimeSpan SocketTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long <see cref="SmtpServer.CloseAsync(CancellationToken)"/> lets idle sessions stay before they get <c>421 Server shutting down</c>. Default 30 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Maximum simultaneous connections; the next one gets <c>421 … Too many connected clients</c> and is closed. 0 means no limit.</summary>
    public int MaxClients { get; set; }

    /// <summary>Skip the reverse-DNS lookup; <see cref="SmtpSession.ClientHostname"/> is then <c>[address]</c>.</summary>
    public bool DisableReverseLookup { get; set; }

    /// <summary>The reverse-DNS resolver; default the operating system's. Each lookup is bounded by <see cref="ReverseLookupTimeout"/>.</summary>
    public IReverseDnsResolver? Resolver { get; set; }

    /// <summary>Upper bound of a reverse-DNS lookup. Default 1.5 s, as the reference.</summary>
    public TimeSpan ReverseLookupTimeout { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Pause before the greeting; a client that talks during it gets <c>421 … You talk too soon</c>. Default 100 ms, as the reference; zero sends the greeting at once.</summary>
    public TimeSpan GreetingDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Maximum length of a command line in bytes, without the line ending; longer gets <c>421 Error: Command line too long</c>. Default 16384.</summary>
    public int MaxCommandLength { get; set; } = 16384;

    /// <summary>Maximum recipients per transaction; the next gets <c>452 4.5.3 Error: too many recipients</c>. 0 means no limit.</summary>
    public int MaxRecipients { get; set; }

    /// <summary>
    /// Transactions allowed per connection: every <c>MAIL FROM</c> command counts, and the one after the limit gets
    /// <c>421 4.7.0 Error: too many transactions</c> and the connection is closed. 0 means no limit.
    /// </summary>
    public int MaxTransactions { get; set; }

    /// <summary>Unknown commands allowed before <c>421 Error: too many unrecognized commands</c> (the counter restarts after each DATA). Default 10; 0 disables the limit.</summary>
    public int MaxUnrecognizedCommands { get; set; } = 10;

    /// <summary>Only check the structure of addresses (brackets, one <c>@</c>, no control characters); skip the length, dot and domain rules.</summary>
    public bool LenientAddressParsing { get; set; }

    /// <summary>Called once a client is connected, before the greeting. Reject to refuse the client (the reply is sent and the connection closed).</summary>
    public Func<SmtpSession, CancellationToken, ValueTask<SmtpResult>>? OnConnect { get; set; }

    /// <summary>Called for <c>MAIL FROM</c> after the address and parameters were validated. Reject to refuse the sender.</summary>
    public Func<SmtpAddress, SmtpSession, CancellationToken, ValueTask<SmtpResult>>? OnMailFrom { get; set; }

    /// <summary>Called for every <c>RCPT TO</c> after validation. Reject to refuse the recipient.</summary>
    public Func<SmtpAddress, SmtpSession, CancellationToken, ValueTask<SmtpResult>>? OnRcptTo { get; set; }

    /// <summary>
    /// Called when DATA starts, with a stream of the dot-unstuffed message as it arrives. The reply is sent once the
    /// handler returned and the whole message was received (unread bytes are drained). In LMTP mode return
    /// <see cref="SmtpResult.PerRecipient(SmtpResult[])"/> for one result per recipient.
    /// </summary>
    public Func<SmtpDataStream, SmtpSession, CancellationToken, ValueTask<SmtpResult>>? OnData { get; set; }

    /// <summary>Called once per connection after it closed, with the session as it was.</summary>
    public Func<SmtpSession, CancellationToken, ValueTask>? OnClose { get; set; }

    /// <summary>
    /// Creates the handler of each connection, for applications that keep typed state per connection (go-smtp's
    /// <c>Backend.NewSession</c>): a <see cref="SmtpSessionHandler"/> subclass whose fields are that state and whose
    /// overrides replace the handlers above for that connection (those it does not override still run). Called once per
    /// connection, before <see cref="OnConnect"/>; a factory that throws gets the client <c>451 4.3.0</c>.
    /// </summary>
    public Func<SmtpSession, SmtpSessionHandler>? SessionHandlerFactory { get; set; }

    /// <summary>A copy whose lists are copies too, so the server is not affected by later changes.</summary>
    internal SmtpServerOptions Clone()
    {
        var copy = (SmtpServerOptions)MemberwiseClone();
        copy.DisabledCommands = [.. DisabledCommands];
        copy.AuthMethods = [.. AuthMethods];
        CloneTls(copy);
        CloneProxy(copy);
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for values the server cannot work with.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || XText.HasControl(Name))
        {
            throw new ArgumentException("Name must be a host name.", nameof(Name));
        }

        if (Size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Size), Size, "Size must be 0 (no limit) or positive.");
        }

        if (SocketTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SocketTimeout), SocketTimeout, "SocketTimeout must be positive.");
        }

        if (CloseTimeout < TimeSpan.Zero || GreetingDelay < TimeSpan.Zero || ReverseLookupTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CloseTimeout), "CloseTimeout and GreetingDelay must not be negative; ReverseLookupTimeout must be positive.");
        }

        if (MaxCommandLength < 16)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCommandLength), MaxCommandLength, "MaxCommandLength must be at least 16.");
        }

        if (MaxClients < 0 || MaxRecipients < 0 || MaxTransactions < 0 || MaxUnrecognizedCommands < 0 || MaxAllowedUnauthenticatedCommands < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxClients), "Limits must not be negative (0 means no limit).");
        }

        ArgumentNullException.ThrowIfNull(DisabledCommands);
        ArgumentNullException.ThrowIfNull(AuthMethods);
        ArgumentNullException.ThrowIfNull(HeloResponse);
        ValidateTls();
        ValidateProxy();
    }
}
