namespace Smtpd;

/// <summary>
/// Feeds one message to <see cref="SmtpDataStream"/>, the stream the DATA handler reads. <see cref="DataBodyReader"/> is
/// DATA's (dot-stuffed lines up to <c>CRLF.CRLF</c>); CHUNKING's BDAT is another way to feed the same stream.
/// </summary>
internal abstract class MessageBodyReader
{
    /// <summary>Message bytes delivered or drained so far.</summary>
    public long ByteLength { get; protected set; }

    /// <summary>The whole message has been received.</summary>
    public abstract bool IsComplete { get; }

    /// <summary>Reading from the client failed (gone, timed out): the connection is lost and nothing may be acknowledged.</summary>
    public IOException? Failure { get; protected set; }

    /// <summary>Copies the next message bytes into <paramref name="buffer"/> (at least 2 bytes); 0 at the end of the message.</summary>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Reads and discards the rest of the message.</summary>
    public abstract ValueTask DrainAsync(CancellationToken cancellationToken);

    /// <summary>Throws <see cref="Failure"/> if reading already failed.</summary>
    protected void ThrowIfFailed()
    {
        if (Failure is not null)
        {
            throw Failure;
        }
    }
}
