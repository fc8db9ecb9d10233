using System.Buffers;

namespace Smtpd;

/// <summary>One command line (without its line ending) as a command unit receives it: the bytes, the verb, the arguments.</summary>
internal readonly ref struct CommandLine
{
    public CommandLine(ReadOnlySpan<byte> line, int verbLength, SmtpCommand command)
    {
        Line = line;
        VerbLength = verbLength;
        Command = command;
    }

    /// <summary>The whole line.</summary>
    public ReadOnlySpan<byte> Line { get; }

    /// <summary>The length of the verb (bytes before the first space).</summary>
    public int VerbLength { get; }

    public SmtpCommand Command { get; }

    /// <summary>What follows the verb and its space (empty when nothing does).</summary>
    public ReadOnlySpan<byte> Arguments => VerbLength < Line.Length ? Line[(VerbLength + 1)..] : default;

    /// <summary>The arguments are empty or only spaces and tabs.</summary>
    public bool HasNoArguments => Arguments.Trim(" \t"u8).IsEmpty;

    /// <summary>
    /// Splits the next line off <paramref name="buffer"/> (LF or CRLF ended; one CR before the LF is removed). A line
    /// longer than <paramref name="maxLength"/>, complete or not, sets <paramref name="tooLong"/>.
    /// </summary>
    public static bool TrySplit(ref ReadOnlySequence<byte> buffer, int maxLength, out ReadOnlySequence<byte> line, out bool tooLong)
    {
        tooLong = false;
        SequencePosition? lf = buffer.PositionOf((byte)'\n');
        if (lf is null)
        {
            line = default;
            long length = buffer.Length;

            // An unterminated line may end with the CR of its CRLF.
            tooLong = length > maxLength + 1 || (length == maxLength + 1 && !EndsWithCr(buffer));
            return false;
        }

        line = buffer.Slice(0, lf.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
        if (!line.IsEmpty && EndsWithCr(line))
        {
            line = line.Slice(0, line.Length - 1);
        }

        if (line.Length > maxLength)
        {
            tooLong = true;
            line = default;
            return false;
        }

        return true;
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> sequence)
    {
        if (sequence.IsSingleSegment)
        {
            ReadOnlySpan<byte> span = sequence.FirstSpan;
            return span.Length > 0 && span[^1] == (byte)'\r';
        }

        return sequence.Slice(sequence.Length - 1).FirstSpan[0] == (byte)'\r';
    }
}
