using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// Feeds one message to <see cref="SmtpDataStream"/>, the stream the DATA handler reads. <see cref="DataBodyReader"/> is
/// DATA's (dot-stuffed lines up to <c>CRLF.CRLF</c>); CHUNKING's BDAT is another way to feed the same stream. Every read
/// of message input from the client goes through <see cref="ReadInputAsync"/>, which holds the client to the minimum
/// data rate (<see cref="SmtpServerOptions.MinDataRate"/>, Kestrel's <c>MinRequestBodyDataRate</c>): after the grace
/// period, the time spent waiting for the client in this message may not pass the grace period plus the time its bytes
/// would take at the minimum rate. Time the handler spends elsewhere does not count against the client.
/// </summary>
internal abstract class MessageBodyReader(ConnectionTransport transport, DataRate rate)
{
    /// <summary>The text of the refusal of a message with bare line endings.</summary>
    public const string BareLineEndingsText = "Error: bare <CR> or <LF> in the message, lines must end with <CR><LF>";

    private long _inputBytes;
    private long _waitedMs;

    /// <summary>Message bytes delivered or drained so far.</summary>
    public long ByteLength { get; protected set; }

    /// <summary>The whole message has been received.</summary>
    public abstract bool IsComplete { get; }

    /// <summary>The message held a bare LF or CR and <see cref="SmtpBareLineEndings.Reject"/> applies: it is refused whatever the handler says.</summary>
    public virtual bool IsRefusedForBareLineEndings => false;

    /// <summary>Reading from the client failed (gone, timed out): the connection is lost and nothing may be acknowledged.</summary>
    public IOException? Failure { get; protected set; }

    /// <summary>The client fell below the minimum data rate (the connection ends with <c>421</c>).</summary>
    public bool IsTooSlow { get; private set; }

    protected ConnectionTransport Transport => transport;

    /// <summary>Copies the next message bytes into <paramref name="buffer"/> (at least 2 bytes); 0 at the end of the message.</summary>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Reads and discards the rest of the message.</summary>
    public abstract ValueTask DrainAsync(CancellationToken cancellationToken);

    /// <summary>What the handler's read gets at the end of a message refused for bare line endings: its reply, <c>550 5.5.2</c>.</summary>
    protected static SmtpException BareLineEndingsRefused() => new(550, BareLineEndingsText, "5.5.2");

    /// <summary>
    /// Waits for more message input (what is buffered and unconsumed, plus what arrives), under the socket timeout and the
    /// minimum data rate. A failure of the client's connection, a timeout or a clean close before the end of the message
    /// becomes <see cref="Failure"/> (through <see cref="Fail"/>) and is thrown.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected async ValueTask<ReadOnlySequence<byte>> ReadInputAsync(CancellationToken cancellationToken)
    {
        long timeout = transport.TimeoutMs;
        long allowed = rate.AllowedWaitMs(_inputBytes, _waitedMs);
        bool rateBound = allowed < timeout;
        long started = Environment.TickCount64;
        ReadResult result;
        try
        {
            result = await transport.ReadAsync(rateBound ? Math.Max(allowed, 1) : timeout, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            IsTooSlow = rateBound && transport.Timeouts.TimedOut;
            throw Fail(ex as IOException ?? new IOException("The connection failed before the message was received in full.", ex));
        }
        finally
        {
            _waitedMs += Environment.TickCount64 - started;
        }

        if (result.Buffer.IsEmpty && result.IsCompleted)
        {
            transport.Reader.AdvanceTo(result.Buffer.End);
            throw Fail(new IOException("Connection closed before the message was received in full"));
        }

        return result.Buffer;
    }

    /// <summary>
    /// Reads and discards <paramref name="count"/> octets of client input (a refused BDAT chunk, the unread rest of a
    /// chunk), held to the socket timeout and the minimum data rate as the message's own input is, so that trickling
    /// into data the server throws away holds a connection no longer than trickling into a message.
    /// </summary>
    /// <param name="count">The octets to discard.</param>
    /// <param name="cancellationToken">Ends the wait (the connection's abort).</param>
    /// <exception cref="IOException">The client went away, sent nothing within the socket timeout or fell below the minimum rate.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            ReadOnlySequence<byte> input = await ReadInputAsync(cancellationToken);
            long skipped = Math.Min(count, input.Length);
            transport.Reader.AdvanceTo(input.GetPosition(skipped));
            CountInput(skipped);
            count -= skipped;
        }
    }

    /// <summary>Counts <paramref name="bytes"/> of client input consumed (for the minimum data rate).</summary>
    protected void CountInput(long bytes) => _inputBytes += bytes;

    /// <summary>Throws <see cref="Failure"/> if reading already failed.</summary>
    protected void ThrowIfFailed()
    {
        if (Failure is not null)
        {
            throw Failure;
        }
    }

    /// <summary>Records <paramref name="failure"/> as <see cref="Failure"/>; returns it, to be thrown.</summary>
    protected virtual IOException Fail(IOException failure)
    {
        Failure = failure;
        return failure;
    }
}
