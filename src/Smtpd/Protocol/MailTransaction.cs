using System.Diagnostics;

namespace Smtpd;

/// <summary>
/// Everything that ends with a mail transaction, reset in one place (<see cref="Reset"/>: RSET, the end of a message,
/// HELO/EHLO/LHLO, STARTTLS, XCLIENT): the envelope the application sees, when the transaction started, its activity,
/// the LMTP reply map, the recipient index, the read hint and the message of a BDAT transaction. One per connection, made at its first transaction and
/// reused; the envelope is a new object per transaction, so an application may keep the old one.
/// </summary>
internal sealed class MailTransaction(bool dsn)
{
    /// <summary>Up to this many recipients a scan finds a duplicate faster than an index; beyond it the index is built.</summary>
    private const int ScanLimit = 16;

    private SmtpEnvelope? _envelope;
    private SmtpEnvelope? _proposed;
    private Dictionary<string, int>? _recipientIndex;
    private List<int>? _lmtpReplies;

    /// <summary>The envelope handlers see: the one <c>MAIL FROM</c> proposes while its handler decides, else the transaction's.</summary>
    public SmtpEnvelope Envelope => _proposed ?? (_envelope ??= new SmtpEnvelope(dsn));

    /// <summary>A sender was accepted and the transaction is open.</summary>
    public bool HasSender => _envelope?.MailFrom is not null;

    /// <summary>The number of accepted recipients.</summary>
    public int RecipientCount => _envelope?.RcptTo.Count ?? 0;

    /// <summary>When <c>MAIL FROM</c> was accepted (<see cref="Stopwatch"/> timestamp), or 0.</summary>
    public long StartTimestamp { get; private set; }

    /// <summary>The transaction's trace activity while one is open and someone listens.</summary>
    public Activity? Activity { get; private set; }

    /// <summary>
    /// The client is sending (a transaction is open, or a message just ended and the next command usually follows at
    /// once): the reader skips its zero-byte readiness wait and reads at once.
    /// </summary>
    public bool ClientIsSending { get; private set; }

    /// <summary>The message of a BDAT transaction, from its first chunk to its last; <see langword="null"/> otherwise.</summary>
    public ChunkedMessage? Chunks { get; set; }

    /// <summary>LMTP: for each accepted RCPT command in order, the index of the recipient its reply after DATA is for.</summary>
    public List<int> LmtpReplies => _lmtpReplies ??= [];

    /// <summary>
    /// <c>MAIL FROM</c> proposes an envelope with its parameters; the handler sees it as <see cref="Envelope"/>. It becomes
    /// the transaction's only with <see cref="Begin"/>; a refusal (<see cref="Withdraw"/>) leaves nothing behind.
    /// </summary>
    public SmtpEnvelope Propose() => _proposed = new SmtpEnvelope(dsn);

    /// <summary>The proposed envelope was refused.</summary>
    public void Withdraw() => _proposed = null;

    /// <summary>The sender was accepted: the proposed envelope, now carrying it, is the transaction's.</summary>
    public void Begin(SmtpAddress sender, Activity? activity)
    {
        SmtpEnvelope envelope = _proposed!;
        _proposed = null;
        envelope.MailFrom = sender;
        _envelope = envelope;
        StartTimestamp = Stopwatch.GetTimestamp();
        Activity = activity;
        ClientIsSending = true;
    }

    /// <summary>The position of <paramref name="address"/> among the recipients (case-insensitive), or -1.</summary>
    public int IndexOfRecipient(string address)
    {
        if (_recipientIndex is not null)
        {
            return _recipientIndex.TryGetValue(address, out int found) ? found : -1;
        }

        IReadOnlyList<SmtpAddress> recipients = _envelope?.RcptTo ?? [];
        for (int i = 0; i < recipients.Count; i++)
        {
            if (string.Equals(recipients[i].Address, address, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Adds an accepted recipient, or replaces the one with the same address; returns its position.</summary>
    public int AddRecipient(SmtpAddress recipient)
    {
        List<SmtpAddress> recipients = _envelope!.Recipients;
        int index = IndexOfRecipient(recipient.Address);
        if (index >= 0)
        {
            recipients[index] = recipient;
            return index;
        }

        index = recipients.Count;
        recipients.Add(recipient);
        if (_recipientIndex is not null)
        {
            _recipientIndex[recipient.Address] = index;
        }
        else if (recipients.Count > ScanLimit)
        {
            _recipientIndex = new Dictionary<string, int>(recipients.Count * 2, StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < recipients.Count; i++)
            {
                _recipientIndex[recipients[i].Address] = i;
            }
        }

        return index;
    }

    /// <summary>Ends the transaction's activity with <paramref name="result"/> (<c>accepted</c>, <c>refused</c>, <c>aborted</c>).</summary>
    public void EndActivity(string result)
    {
        if (Activity is { } activity)
        {
            Activity = null;
            activity.SetTag("smtpd.transaction.result", result);
            activity.Dispose();
        }
    }

    /// <summary>The connection ended: a BDAT message without its last chunk is abandoned, the activity ends as aborted; the envelope stays for the close handler.</summary>
    public void Abort()
    {
        Chunks?.Abandon();
        Chunks = null;
        EndActivity("aborted");
    }

    /// <summary>
    /// The one reset: a new, empty envelope (the old one stays intact for whoever holds it; an untouched one is kept),
    /// no activity, no LMTP replies, no recipient index, no BDAT message (one without its last chunk is abandoned).
    /// </summary>
    /// <param name="messageEnded">After a message the client usually sends its next command at once: read it without a readiness wait.</param>
    public void Reset(bool messageEnded = false)
    {
        EndActivity("aborted");
        Chunks?.Abandon();
        Chunks = null;
        _proposed = null;
        if (_envelope is { IsPristine: false })
        {
            _envelope = null;
        }

        _recipientIndex = null;
        _lmtpReplies?.Clear();
        StartTimestamp = 0;
        ClientIsSending = messageEnded;
    }
}
