namespace Smtpd;

/// <summary>
/// The DATA state machine: finds the end of the message (only <c>CRLF . CRLF</c>, or <c>. CRLF</c> as the very first
/// bytes) and removes the stuffed dot of lines starting with <c>..</c> (after CRLF or a bare LF), across any split
/// of the input. Bare LF or bare CR never end the message; the <see cref="SmtpBareLineEndings"/> policy keeps them,
/// turns them into CRLF (an LF is inserted after a bare CR, a CR before a bare LF) or notes them
/// (<see cref="SawBareLineEnding"/>). Ordinary text is copied with vectorised searches.
/// </summary>
internal struct DotUnstuffer
{
    private readonly SmtpBareLineEndings _policy;
    private State _state;
    private bool _prevCr;

    public DotUnstuffer()
        : this(SmtpBareLineEndings.Accept)
    {
    }

    public DotUnstuffer(SmtpBareLineEndings policy)
    {
        _policy = policy;
        _state = State.LineStartCrLf;
    }

    private enum State : byte
    {
        /// <summary>Inside a line.</summary>
        Normal,

        /// <summary>At the start of the data or after CRLF: a dot here may start the terminator.</summary>
        LineStartCrLf,

        /// <summary>After a bare LF: a dot here can only be stuffing.</summary>
        LineStartLf,

        /// <summary>Saw "." after CRLF (held back).</summary>
        DotAfterCrLf,

        /// <summary>Saw ".CR" after CRLF (held back).</summary>
        DotCrAfterCrLf,

        /// <summary>Saw "." after a bare LF (held back).</summary>
        DotAfterLf,

        /// <summary>The terminator was seen.</summary>
        Ended,
    }

    /// <summary><see langword="true"/> once the terminating <c>CRLF.CRLF</c> was consumed.</summary>
    public readonly bool IsEnded => _state == State.Ended;

    /// <summary>A bare LF or bare CR was in the message (noted unless the policy is <see cref="SmtpBareLineEndings.Accept"/>).</summary>
    public bool SawBareLineEnding { get; private set; }

    /// <summary>
    /// Consumes <paramref name="input"/> and writes message bytes to <paramref name="output"/> (or only counts them
    /// when <paramref name="discard"/> is set). Stops at the terminator, or when the output has fewer than two free bytes.
    /// </summary>
    /// <returns>The number of input bytes consumed.</returns>
    public int Process(ReadOnlySpan<byte> input, Span<byte> output, bool discard, out int written)
    {
        int i = 0;
        int o = 0;
        int capacity = discard ? int.MaxValue : output.Length;
        while (i < input.Length && _state != State.Ended)
        {
            switch (_state)
            {
                case State.Normal when _policy != SmtpBareLineEndings.Accept:
                    if (capacity - o < 2)
                    {
                        written = o;
                        return i;
                    }

                    i += CopyLine(input[i..], output, ref o, discard, capacity);
                    break;

                case State.Normal:
                {
                    if (capacity - o < 1)
                    {
                        written = o;
                        return i;
                    }

                    // Only a dot right after a line feed matters (stuffing or the terminator): copy everything up to
                    // the next "\n." in one piece, found by a vectorised two-byte search.
                    int span = Math.Min(input.Length - i, capacity - o);
                    ReadOnlySpan<byte> chunk = input.Slice(i, span);
                    int lfDot = chunk.IndexOf("\n."u8);
                    int take = lfDot < 0 ? span : lfDot + 1;
                    if (!discard)
                    {
                        chunk[..take].CopyTo(output[o..]);
                    }

                    byte last = chunk[take - 1];
                    if (last == (byte)'\n')
                    {
                        // A line starts: the next byte (maybe in the next read) decides about a dot.
                        bool crBefore = take > 1 ? chunk[take - 2] == (byte)'\r' : _prevCr;
                        _state = crBefore ? State.LineStartCrLf : State.LineStartLf;
                        _prevCr = false;
                    }
                    else
                    {
                        _prevCr = last == (byte)'\r';
                    }

                    i += take;
                    o += take;
                    break;
                }

                case State.LineStartCrLf:
                case State.LineStartLf:
                    if (input[i] == (byte)'.')
                    {
                        _state = _state == State.LineStartCrLf ? State.DotAfterCrLf : State.DotAfterLf;
                        i++;
                    }
                    else
                    {
                        _state = State.Normal;
                    }

                    break;

                case State.DotAfterCrLf:
                    if (capacity - o < 2)
                    {
                        written = o;
                        return i;
                    }

                    if (input[i] == (byte)'.')
                    {
                        // ".." at the start of a line: the first dot is stuffing.
                        Emit(output, ref o, discard, (byte)'.');
                        _state = State.Normal;
                        _prevCr = false;
                        i++;
                    }
                    else if (input[i] == (byte)'\r')
                    {
                        _state = State.DotCrAfterCrLf;
                        i++;
                    }
                    else
                    {
                        Emit(output, ref o, discard, (byte)'.');
                        _state = State.Normal;
                        _prevCr = false;
                    }

                    break;

                case State.DotCrAfterCrLf:
                    if (capacity - o < 2)
                    {
                        written = o;
                        return i;
                    }

                    if (input[i] == (byte)'\n')
                    {
                        _state = State.Ended;
                        i++;
                    }
                    else
                    {
                        Emit(output, ref o, discard, (byte)'.');
                        Emit(output, ref o, discard, (byte)'\r');
                        _state = State.Normal;
                        _prevCr = true;
                    }

                    break;

                case State.DotAfterLf:
                    if (capacity - o < 1)
                    {
                        written = o;
                        return i;
                    }

                    Emit(output, ref o, discard, (byte)'.');
                    if (input[i] == (byte)'.')
                    {
                        i++;
                    }

                    _state = State.Normal;
                    _prevCr = false;
                    break;
            }
        }

        written = o;
        return i;
    }

    /// <summary>
    /// The Normal state under a policy that looks at line endings: copies text up to the next CR or LF and settles the
    /// line ending (CRLF, a bare LF, or a bare CR, known once the byte after it arrives). Needs two bytes of output space.
    /// </summary>
    /// <returns>The number of input bytes consumed.</returns>
    private int CopyLine(ReadOnlySpan<byte> input, Span<byte> output, ref int o, bool discard, int capacity)
    {
        bool normalize = _policy == SmtpBareLineEndings.Normalize;
        if (_prevCr && input[0] != (byte)'\n')
        {
            // The CR already copied was bare.
            _prevCr = false;
            SawBareLineEnding = true;
            if (normalize)
            {
                Emit(output, ref o, discard, (byte)'\n');
                return 0;
            }
        }

        int span = Math.Min(input.Length, capacity - o);
        ReadOnlySpan<byte> chunk = input[..span];
        int end = chunk.IndexOfAny((byte)'\r', (byte)'\n');
        int take = end < 0 ? span : end;
        if (take > 0)
        {
            if (!discard)
            {
                chunk[..take].CopyTo(output[o..]);
            }

            o += take;
            _prevCr = false;
            return take;
        }

        if (input[0] == (byte)'\r')
        {
            // Bare or not is known with the next byte.
            Emit(output, ref o, discard, (byte)'\r');
            _prevCr = true;
            return 1;
        }

        if (_prevCr)
        {
            Emit(output, ref o, discard, (byte)'\n');
            _prevCr = false;
            _state = State.LineStartCrLf;
            return 1;
        }

        SawBareLineEnding = true;
        if (normalize)
        {
            Emit(output, ref o, discard, (byte)'\r');
        }

        Emit(output, ref o, discard, (byte)'\n');
        _state = State.LineStartLf;
        return 1;
    }

    private static void Emit(Span<byte> output, ref int o, bool discard, byte value)
    {
        if (!discard)
        {
            output[o] = value;
        }

        o++;
    }
}
