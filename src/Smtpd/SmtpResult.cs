namespace Smtpd;

/// <summary>
/// The outcome of a handler: accept (optionally with a custom success text) or reject with a reply code,
/// an optional RFC 3463 enhanced status code and a text. In LMTP mode a DATA handler may return one result
/// per recipient with <see cref="PerRecipient(SmtpResult[])"/>.
/// </summary>
/// <remarks>
/// <c>default(SmtpResult)</c> is <see cref="Accept()"/>. Returning a result is the cheap path; throwing an
/// <see cref="SmtpException"/> has the same effect.
/// </remarks>
public readonly struct SmtpResult : IEquatable<SmtpResult>
{
    private SmtpResult(int code, string? message, string? enhancedCode, IReadOnlyList<SmtpResult>? recipientResults)
    {
        Code = code;
        Message = message;
        EnhancedCode = enhancedCode;
        RecipientResults = recipientResults;
    }

    /// <summary>The reply code, or 0 for "accepted with the built-in reply".</summary>
    public int Code { get; }

    /// <summary>The reply text, or <see langword="null"/> for the built-in text.</summary>
    public string? Message { get; }

    /// <summary>The enhanced status code (for example <c>5.7.1</c>) to use when enhanced codes are enabled,
    /// or <see langword="null"/> to derive it from <see cref="Code"/>.</summary>
    public string? EnhancedCode { get; }

    /// <summary>LMTP: one result per recipient, in the order the recipients were accepted; otherwise <see langword="null"/>.</summary>
    public IReadOnlyList<SmtpResult>? RecipientResults { get; }

    /// <summary><see langword="true"/> when this result accepts (code 0 or 2xx/3xx).</summary>
    public bool IsAccepted => Code < 400;

    /// <summary>Accepts with the built-in reply.</summary>
    public static SmtpResult Accept() => default;

    /// <summary>Accepts with a custom success text (used for the reply to DATA, e.g. <c>250 Queued as 12AB</c>).</summary>
    /// <param name="message">The text after the 250 code.</param>
    public static SmtpResult Accept(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new SmtpResult(250, message, null, null);
    }

    /// <summary>Rejects with the given reply.</summary>
    /// <param name="code">A 4xx (temporary) or 5xx (permanent) reply code. A 421 also closes the connection.</param>
    /// <param name="message">The reply text. Control characters are replaced by spaces on the wire.</param>
    /// <param name="enhancedCode">An RFC 3463 code such as <c>5.7.1</c>; <see langword="null"/> derives one from <paramref name="code"/>.</param>
    public static SmtpResult Reject(int code, string message, string? enhancedCode = null)
    {
        if (code is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "A rejection needs a 4xx or 5xx code.");
        }

        ArgumentNullException.ThrowIfNull(message);
        if (enhancedCode is not null && !EnhancedStatusCode.IsValid(enhancedCode, code))
        {
            throw new ArgumentException($"'{enhancedCode}' is not an enhanced status code of class {code / 100}.", nameof(enhancedCode));
        }

        return new SmtpResult(code, message, enhancedCode, null);
    }

    /// <summary>LMTP: one result per accepted recipient, in the order the recipients were accepted.</summary>
    /// <param name="results">The per-recipient results.</param>
    public static SmtpResult PerRecipient(params SmtpResult[] results) => PerRecipient((IReadOnlyList<SmtpResult>)results);

    /// <summary>LMTP: one result per accepted recipient, in the order the recipients were accepted.</summary>
    /// <param name="results">The per-recipient results.</param>
    public static SmtpResult PerRecipient(IReadOnlyList<SmtpResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return new SmtpResult(0, null, null, results);
    }

    /// <inheritdoc/>
    public bool Equals(SmtpResult other) =>
        Code == other.Code && Message == other.Message && EnhancedCode == other.EnhancedCode && ReferenceEquals(RecipientResults, other.RecipientResults);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SmtpResult other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Code, Message, EnhancedCode);

    /// <summary>Compares two results.</summary>
    public static bool operator ==(SmtpResult left, SmtpResult right) => left.Equals(right);

    /// <summary>Compares two results.</summary>
    public static bool operator !=(SmtpResult left, SmtpResult right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => RecipientResults is not null
        ? $"per recipient ({RecipientResults.Count})"
        : Code == 0 ? "accept" : $"{Code} {EnhancedCode} {Message}";
}
