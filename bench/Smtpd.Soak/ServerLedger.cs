namespace Smtpd.Soak;

/// <summary>
/// What the soak server saw, written as JSON when it is stopped: every message its DATA handler accepted (by soak id,
/// so the driver can check each acknowledged message was delivered exactly once) and the server's own meters.
/// </summary>
internal sealed class ServerLedger
{
    /// <summary>For each id below the driver's message count, how many times the handler accepted it (saturating at 255).</summary>
    public byte[] Counts { get; set; } = [];

    /// <summary>Accepted messages whose id is outside the well-behaved range (hostile messages must never be here), by id.</summary>
    public Dictionary<int, int> Unexpected { get; set; } = [];

    public long HandlerCalls { get; set; }

    public long Accepted { get; set; }

    /// <summary>DATA streams that ended early (the client vanished); never accepted.</summary>
    public long Incomplete { get; set; }

    /// <summary>Messages above the size limit (refused with 552).</summary>
    public long Oversize { get; set; }

    /// <summary>Accepted messages without a readable soak id.</summary>
    public long Unidentified { get; set; }

    /// <summary>The <c>smtpd.active_connections</c> meter when the stop signal came (after the driver closed everything).</summary>
    public long OpenAtStop { get; set; }

    /// <summary>Totals of the server's counters (<c>smtpd.*</c>), by instrument and the tags that matter (result, reason, error type).</summary>
    public SortedDictionary<string, long> Meters { get; set; } = [];
}
