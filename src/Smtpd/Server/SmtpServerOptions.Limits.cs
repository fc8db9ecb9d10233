namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>
    /// Maximum bytes one transaction's envelope may hold: the <c>MAIL FROM</c> and <c>RCPT TO</c> lines accepted in it,
    /// addresses and parameters included. A <c>RCPT TO</c> that would pass it gets <c>452 4.5.3 Error: too many
    /// recipients</c> (RFC 5321 §4.5.3.1.10: the client sends the remaining recipients in another transaction); a
    /// <c>MAIL FROM</c> line longer than the whole bound gets <c>552 5.3.4</c>. It bounds the memory a client can make the
    /// server hold with many recipients or long parameters, whatever <see cref="MaxRecipients"/> says. Default 1 MiB
    /// (1,000 recipients of the longest address with a 500-character ORCPT each fit); 0 means no limit.
    /// </summary>
    public long MaxEnvelopeSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// What happens to a bare LF or bare CR inside a DATA message: kept (<see cref="SmtpBareLineEndings.Accept"/>), made
    /// CRLF (<see cref="SmtpBareLineEndings.Normalize"/>), or the message refused with <c>550 5.5.2</c>
    /// (<see cref="SmtpBareLineEndings.Reject"/>). The library's default is <see cref="SmtpBareLineEndings.Accept"/>, the
    /// reference's behaviour. Only <c>CRLF.CRLF</c> ends a message either way; kept bare endings are what lets a relay
    /// further on that reads them as line endings see another message in this one (SMTP smuggling). BDAT messages are
    /// taken as sent.
    /// </summary>
    public SmtpBareLineEndings BareLineEndings { get; set; }

    /// <summary>
    /// The time a client has to send a whole command line once its first byte arrived; sending a byte now and then does
    /// not extend it (the idle <see cref="SocketTimeout"/> restarts with every byte, this does not). The bound applied is
    /// the smaller of this and <see cref="SocketTimeout"/>. A client that passes it gets <c>421 Timeout - closing
    /// connection</c>. Default 60 s, the default socket timeout.
    /// </summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The minimum rate, in bytes per second, at which a client must send a message (DATA and BDAT) once
    /// <see cref="MinDataRateGracePeriod"/> has passed: the time the server has waited for the client in the message may
    /// not pass the grace period plus the time the bytes received would take at this rate (Kestrel's
    /// <c>MinRequestBodyDataRate</c>; time the DATA handler spends elsewhere does not count). A client below it gets
    /// <c>421 Timeout - closing connection</c> and nothing of the message is acknowledged. Default 500, Postfix's
    /// <c>smtpd_min_data_rate</c>; 0 disables it (the idle <see cref="SocketTimeout"/> still applies to every read).
    /// </summary>
    public int MinDataRate { get; set; } = 500;

    /// <summary>How long a message may arrive at any rate before <see cref="MinDataRate"/> applies. Default 5 s, as Kestrel's.</summary>
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Simultaneous sessions one client address may hold (the address the PROXY header announces, behind a proxy); the
    /// next gets <c>421 4.7.0 &lt;name&gt; Error: too many connections from &lt;address&gt;</c> and is closed (Postfix's
    /// <c>smtpd_client_connection_count_limit</c>). Default <see langword="null"/>: half of the slots, as Postfix's 50
    /// against its 100 processes, so that no single address can take every slot: half of <see cref="MaxClients"/>, or
    /// without it half of the connections the descriptor limit leaves room for. 0 means no limit (for a relay on the same
    /// host that opens many connections from one address, such as an LMTP client).
    /// </summary>
    public int? MaxConnectionsPerClient { get; set; }

    private void ValidateLimits()
    {
        if (MaxAuthFailuresPerClient < 0 || AuthFailureWindow <= TimeSpan.Zero || AuthFailureDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAuthFailuresPerClient), "MaxAuthFailuresPerClient (0: no limit) and AuthFailureDelay must not be negative; AuthFailureWindow must be positive.");
        }

        if (MaxConnectionsPerClient < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerClient), MaxConnectionsPerClient, "MaxConnectionsPerClient must be 0 (no limit) or positive.");
        }

        if (CommandTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CommandTimeout), CommandTimeout, "CommandTimeout must be positive.");
        }

        if (MinDataRate < 0 || MinDataRateGracePeriod < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MinDataRate), "MinDataRate (0: none) and MinDataRateGracePeriod must not be negative.");
        }

        if (MaxEnvelopeSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEnvelopeSize), MaxEnvelopeSize, "MaxEnvelopeSize must be 0 (no limit) or positive.");
        }

        if (!Enum.IsDefined(BareLineEndings))
        {
            throw new ArgumentOutOfRangeException(nameof(BareLineEndings), BareLineEndings, "BareLineEndings must be Accept, Normalize or Reject.");
        }
    }
}
