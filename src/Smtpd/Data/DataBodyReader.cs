using System.Buffers;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// The message of a DATA command: pulls from the connection's reader (under the socket timeout and the minimum data
/// rate) and runs
/// <see cref="DotUnstuffer"/> over the buffered segments, up to and without the terminating <c>.CRLF</c>, with the
/// endpoint's <see cref="SmtpBareLineEndings"/> policy. Under <see cref="SmtpBareLineEndings.Reject"/> a message that
/// held a bare LF or CR ends with an <see cref="SmtpException"/> (<c>550 5.5.2</c>) instead of the end of the stream.
/// </summary>
internal sealed class DataBodyReader(ConnectionTransport transport, SmtpBareLineEndings policy, DataRate rate) : MessageBodyReader(transport, rate)
{
    private DotUnstuffer _unstuffer = new(policy);

    public override bool IsComplete => _unstuffer.IsEnded;

    public override bool IsRefusedForBareLineEndings => policy == SmtpBareLineEndings.Reject && _unstuffer.SawBareLineEnding;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!_unstuffer.IsEnded)
        {
            ThrowIfFailed();
            ReadOnlySequence<byte> input = await ReadInputAsync(cancellationToken);
            int written = Consume(input, buffer.Span, discard: false);
            if (written > 0)
            {
                return written;
            }
        }

        return IsRefusedForBareLineEndings ? throw BareLineEndingsRefused() : 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        while (!_unstuffer.IsEnded)
        {
            ThrowIfFailed();
            ReadOnlySequence<byte> input = await ReadInputAsync(cancellationToken);
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
        CountInput(consumed);
        SequencePosition position = input.GetPosition(consumed);

        // Everything was examined unless output space ran out: the next read then waits for new bytes.
        bool outOfSpace = consumed < input.Length && !_unstuffer.IsEnded;
        Transport.Reader.AdvanceTo(position, outOfSpace || _unstuffer.IsEnded ? position : input.End);
        return written;
    }
}
