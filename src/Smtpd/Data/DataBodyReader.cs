using System.Buffers;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// The message of a DATA command: pulls from the connection's reader (under the socket timeout) and runs
/// <see cref="DotUnstuffer"/> over the buffered segments, up to and without the terminating <c>.CRLF</c>.
/// </summary>
internal sealed class DataBodyReader(ConnectionTransport transport) : MessageBodyReader
{
    private DotUnstuffer _unstuffer = new();

    public override bool IsComplete => _unstuffer.IsEnded;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!_unstuffer.IsEnded)
        {
            ThrowIfFailed();
            ReadOnlySequence<byte> input = await ReadInputAsync(transport, cancellationToken);
            int written = Consume(input, buffer.Span, discard: false);
            if (written > 0)
            {
                return written;
            }
        }

        return 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        while (!_unstuffer.IsEnded)
        {
            ThrowIfFailed();
            ReadOnlySequence<byte> input = await ReadInputAsync(transport, cancellationToken);
            Consume(input, default, discard: true);
        }
    }

    /// <summary>Runs the state machine over <paramref name="input"/>; advances the reader past what was consumed.</summary>
    private int Consume(ReadOnlySequence<byte> input, Span<byte> output, bool discard)
    {
        int written = 0;
        long consumed = 0;
        foreach (ReadOnlyMemory<byte> segment in input)
        {
            ReadOnlySpan<byte> span = segment.Span;
            int used = _unstuffer.Process(span, discard ? default : output[written..], discard, out int n);
            written += n;
            consumed += used;
            if (used < span.Length || _unstuffer.IsEnded)
            {
                break;
            }
        }

        ByteLength += written;
        SequencePosition position = input.GetPosition(consumed);

        // Everything was examined unless output space ran out: the next read then waits for new bytes.
        bool outOfSpace = consumed < input.Length && !_unstuffer.IsEnded;
        transport.Reader.AdvanceTo(position, outOfSpace || _unstuffer.IsEnded ? position : input.End);
        return written;
    }
}
