using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

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

    /// <summary>
    /// The buffered input of the message (at least one more byte), read from <paramref name="transport"/> under the
    /// socket timeout. A failed or closed connection becomes <see cref="Failure"/> (through <see cref="Fail"/>) and is thrown.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected async ValueTask<ReadOnlySequence<byte>> ReadInputAsync(ConnectionTransport transport, CancellationToken cancellationToken)
    {
        ReadResult result;
        try
        {
            result = await transport.ReadAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw Fail(ex as IOException ?? new IOException("The connection failed before the message was received in full.", ex));
        }

        if (result.Buffer.IsEmpty && result.IsCompleted)
        {
            transport.Reader.AdvanceTo(result.Buffer.End);
            throw Fail(new IOException("Connection closed before the message was received in full"));
        }

        return result.Buffer;
    }

    /// <summary>Records <paramref name="failure"/> as <see cref="Failure"/>; returns it, to be thrown.</summary>
    protected virtual IOException Fail(IOException failure)
    {
        Failure = failure;
        return failure;
    }
}
