namespace Smtpd;

/// <summary>
/// The message of a BDAT transaction, from its first <c>BDAT</c> to <c>BDAT … LAST</c> (part of the
/// <see cref="MailTransaction"/>, which abandons it when it is reset): the chunk reader and the stream the DATA handler
/// reads, the handler itself once the first chunk arrived, the octets announced so far (for the size limit), and, once a
/// chunk was refused, the reply every later chunk of the transaction gets while it is read and discarded.
/// </summary>
internal sealed class ChunkedMessage
{
    public ChunkedMessage(ConnectionTransport transport, long sizeLimit)
    {
        Body = new ChunkBodyReader(transport);
        Stream = new SmtpDataStream(Body, sizeLimit);
    }

    public ChunkBodyReader Body { get; }

    public SmtpDataStream Stream { get; }

    /// <summary>The DATA handler, running from the first delivered chunk until it returns.</summary>
    public Task<SmtpResult>? Handler { get; set; }

    /// <summary>The octets of the chunks announced so far (refused ones included).</summary>
    public long Announced { get; set; }

    /// <summary>The transaction has failed (a chunk over the size limit, the handler's refusal): this reply answers its remaining chunks.</summary>
    public byte[]? Refusal { get; set; }

    /// <summary>Why <see cref="Refusal"/> was set, for the transaction's log line.</summary>
    public string? RefusalReason { get; set; }

    /// <summary>The transaction ended before its last chunk: the handler's reads fail from now on.</summary>
    public void Abandon() => Body.Abandon();
}
