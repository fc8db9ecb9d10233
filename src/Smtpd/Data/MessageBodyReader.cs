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

    /// <summary>The message held a bare LF or CR and <see cref="SmtpBareLineEndings.Reject"/> applies: it is refused whatever the handler says.</summary>
    public virtual bool IsRefusedForBareLineEndings => false;

    /// <summary>Reading from the client failed (gone, timed out): the connection is lost and nothing may be acknowledged.</summary>
    public IOException? Failure { get; protected set; }

    /// <summary>Copies the next message bytes into <paramref name="buffer"/> (at least 2 bytes); 0 at the end of the message.</summary>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Reads and discards the rest of the message.</summary>
    public abstract ValueTask DrainAsync(CancellationToken cancellationToken);

    /// <summary>What the handler's read gets at the end of a message refused for bare line endings: its reply, <c>550 5.5.2</c>.</summary>
    protected static SmtpException BareLineEndingsRefused() => new(550, BareLineEndingsText, "5.5.2");

    /// <summary>The text of the refusal of a message with bare line endings.</summary>
    public const string BareLineEndingsText = "Error: bare <CR> or <LF> in the message, lines must end with <CR><LF>";

    /// <summary>Throws <see cref="Failure"/> if reading already failed.</summary>
    protected void ThrowIfFailed()
    {
        if (Failure is not null)
        {
            throw Failure;
        }
    }
}
