using System.Net;
using System.Text;

namespace Smtpd.Fuzz;

/// <summary>One fuzz target: must return normally for every input; any exception is a finding.</summary>
internal delegate void FuzzTarget(ReadOnlySpan<byte> data);

/// <summary>A property of the code under test did not hold for a fuzz input.</summary>
internal sealed class FuzzFindingException(string message) : Exception(message);

/// <summary>
/// The fuzz targets: Smtpd's parsers fed arbitrary bytes, each checking properties that must hold for every input,
/// not just the absence of exceptions. Shared by the SharpFuzz harness (<c>Program.cs</c>) and by the regression
/// tests, which replay the seed corpus and every saved finding (<c>tests/Smtpd.Tests/Fuzz</c>).
/// </summary>
internal static class FuzzTargets
{
    private static readonly string[] Mechanisms =
        [SmtpAuthMethods.Plain, SmtpAuthMethods.Login, SmtpAuthMethods.CramMd5, SmtpAuthMethods.XOAuth2, SmtpAuthMethods.OAuthBearer, SmtpAuthMethods.ScramSha256];

    // Created on first use: instrumented code must not run before the harness has connected to AFL's shared memory.
    private static readonly Lazy<SmtpPasswordAuthenticator> Users = new(() => new(new Dictionary<string, string>
    {
        ["user"] = "pass",
        ["ünïcode"] = "pässwörd",
    }));

    /// <summary>Every target by name (the harness's first argument and the corpus folder's name).</summary>
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new Dictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["command"] = Command,
        ["address"] = Address,
        ["proxy"] = Proxy,
        ["sasl"] = Sasl,
        ["data"] = Data,
    };

    /// <summary>The command parser: the verb is inside the line, and the same line in upper case names the same command.</summary>
    public static void Command(ReadOnlySpan<byte> data)
    {
        SmtpCommand command = CommandParser.Identify(data, out int verbLength);
        Check(verbLength >= 0 && verbLength <= data.Length, $"verb length {verbLength} outside a line of {data.Length} bytes");
        _ = CommandParser.VerbText(data, verbLength);
        _ = CommandParser.IsHttpRequest(data, verbLength);

        byte[] upper = data.ToArray();
        for (int i = 0; i < upper.Length; i++)
        {
            if (upper[i] is >= (byte)'a' and <= (byte)'z')
            {
                upper[i] -= 32;
            }
        }

        SmtpCommand upperCommand = CommandParser.Identify(upper, out int upperLength);
        Check(upperCommand == command && upperLength == verbLength, $"case changes the command: {command}/{verbLength} but {upperCommand}/{upperLength} in upper case");
    }

    /// <summary>MAIL FROM / RCPT TO parsing, strict and lenient: an accepted address never carries a control character or an angle bracket.</summary>
    public static void Address(ReadOnlySpan<byte> data)
    {
        foreach (bool isMail in (bool[])[true, false])
        {
            foreach (bool lenient in (bool[])[false, true])
            {
                AddressParseError error = AddressParser.Parse(data, isMail, lenient, out string address, out Dictionary<string, string?>? args, out string? duplicate);
                switch (error)
                {
                    case AddressParseError.None:
                        Check(address is not null, "no address");
                        foreach (char c in address!)
                        {
                            Check(c >= 0x20 && c != 0x7F && c != '<' && c != '>', $"accepted address contains U+{(int)c:X4} (mail {isMail}, lenient {lenient})");
                        }

                        foreach (string key in args?.Keys ?? Enumerable.Empty<string>())
                        {
                            Check(key.Length > 0, "an empty parameter name was accepted");
                        }

                        break;
                    case AddressParseError.DuplicateParameter:
                        Check(duplicate is not null, "a duplicate parameter without its name");
                        break;
                }
            }
        }
    }

    /// <summary>PROXY v1 and v2 headers: parse or refuse with a reason; a parsed header has both endpoints or neither (LOCAL/UNKNOWN).</summary>
    public static void Proxy(ReadOnlySpan<byte> data)
    {
        SmtpProxyHeader? header;
        bool parsed;
        string reason;
        switch (ProxyHeaderParser.Classify(data))
        {
            // The connection hands the parser a v1 line up to its LF within the length limit, a v2 header whole.
            case ProxyHeaderKind.Version1 when data.IndexOf((byte)'\n') is int lf && lf >= 0 && lf < ProxyHeaderParser.MaxVersion1Length:
                parsed = ProxyHeaderParser.TryParseVersion1(data[..(lf + 1)], IPAddress.Loopback, 40000, out header, out reason);
                break;
            case ProxyHeaderKind.Version2 when data.Length >= ProxyHeaderParser.Version2FixedLength
                && ProxyHeaderParser.Version2Length(data) is int length && length <= ProxyHeaderParser.MaxVersion2Length && data.Length >= length:
                parsed = ProxyHeaderParser.TryParseVersion2(data[..length], IPAddress.Loopback, 40000, out header, out reason);
                break;
            default:
                return;
        }

        if (parsed)
        {
            Check(header is not null, "parsed without a header");
            Check((header!.Source is null) == (header.Destination is null), "one endpoint without the other");
            Check(header.ProxyAddress.Equals(IPAddress.Loopback) && header.ProxyPort == 40000, "the proxy's own endpoint changed");
        }
        else
        {
            Check(header is null && reason.Length > 0, "refused without a reason, or with a header");
        }
    }

    /// <summary>
    /// The SASL mechanisms as the connection drives them: the first byte picks the mechanism and whether the first line
    /// is an initial response; the other lines are the client's. The exchange ends in a few steps, and every step is
    /// well formed.
    /// </summary>
    public static void Sasl(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        SaslServerMechanism mechanism = Create(Mechanisms[data[0] % Mechanisms.Length]);
        string[] lines = Encoding.UTF8.GetString(data[1..]).Split('\n');
        int next = 0;
        string? initial = (data[0] & 0x80) != 0 && mechanism.AcceptsInitialResponse ? lines[next++] : null;
        SaslStep step = mechanism.Start(initial);
        for (int round = 0; round < 8; round++)
        {
            switch (step.Kind)
            {
                case SaslStepKind.Challenge:
                    Check(step.Text is not null, "a challenge without text");
                    if (next >= lines.Length)
                    {
                        return;
                    }

                    step = mechanism.Continue(lines[next++]);
                    break;
                case SaslStepKind.Authenticate:
                    Check(step.Request is not null, "authenticate without a request");
                    step = mechanism.Complete(Users.Value.Authenticate(step.Request!));
                    break;
                case SaslStepKind.Succeeded:
                    Check(step.User is not null, "success without a user");
                    return;
                case SaslStepKind.Failed:
                    Check(step.Code is >= 400 and < 600 && step.Text is not null, $"failure with code {step.Code}");
                    return;
                default:
                    return;
            }
        }

        throw new FuzzFindingException($"{mechanism.Name} did not finish in 8 steps");
    }

    /// <summary>
    /// The DATA scanner: any split of the input and any output size give the same message as one pass; and a message
    /// built from the input (its lines ended by CRLF), dot-stuffed and terminated as a client sends it, comes out whole.
    /// Under each <see cref="SmtpBareLineEndings"/> policy the message ends at the same place; <c>Reject</c> keeps the
    /// bytes <c>Accept</c> keeps and notes a bare CR or LF exactly when they hold one; <c>Normalize</c> gives those bytes
    /// with every bare CR or LF made CRLF.
    /// </summary>
    public static void Data(ReadOnlySpan<byte> data)
    {
        (byte[] whole, int wholeConsumed, bool wholeEnded, _) = Unstuff(data, seed: 0, discard: false);
        foreach (SmtpBareLineEndings policy in (SmtpBareLineEndings[])[SmtpBareLineEndings.Accept, SmtpBareLineEndings.Normalize, SmtpBareLineEndings.Reject])
        {
            (byte[] one, int oneConsumed, bool oneEnded, bool oneSawBare) = Unstuff(data, seed: 0, discard: false, policy);
            (byte[] pieces, int piecesConsumed, bool piecesEnded, bool piecesSawBare) = Unstuff(data, seed: Hash(data) | 1, discard: false, policy);
            Check(one.AsSpan().SequenceEqual(pieces) && oneConsumed == piecesConsumed && oneEnded == piecesEnded && oneSawBare == piecesSawBare,
                $"{policy}: split changes the result: {one.Length}/{oneConsumed}/{oneEnded}/{oneSawBare} in one pass, {pieces.Length}/{piecesConsumed}/{piecesEnded}/{piecesSawBare} in pieces");
            (byte[] counted, _, _, _) = Unstuff(data, seed: Hash(data) | 1, discard: true, policy);
            Check(counted.Length == one.Length, $"{policy}: discarding counts {counted.Length} bytes, copying {one.Length}");
            Check(oneConsumed == wholeConsumed && oneEnded == wholeEnded, $"{policy}: the message ends elsewhere than under Accept ({oneConsumed}/{oneEnded} against {wholeConsumed}/{wholeEnded})");
            switch (policy)
            {
                case SmtpBareLineEndings.Reject:
                    Check(one.AsSpan().SequenceEqual(whole), "Reject changes the message bytes");
                    Check(!wholeEnded || oneSawBare == HasBareLineEnding(whole), $"Reject: bare line ending noted {oneSawBare} for a message that has one: {!oneSawBare}");
                    break;
                case SmtpBareLineEndings.Normalize:
                    Check(one.AsSpan().SequenceEqual(NormalizeLineEndings(whole, ended: wholeEnded)), "Normalize is not the message with its bare CR and LF made CRLF");
                    break;
            }
        }

        var message = new List<byte>();
        var wire = new List<byte>();
        foreach (byte[] line in Lines(data))
        {
            message.AddRange(line);
            message.AddRange("\r\n"u8);
            if (line.Length > 0 && line[0] == (byte)'.')
            {
                wire.Add((byte)'.');
            }

            wire.AddRange(line);
            wire.AddRange("\r\n"u8);
        }

        wire.AddRange(".\r\n"u8);
        byte[] sent = wire.ToArray();
        foreach (SmtpBareLineEndings policy in (SmtpBareLineEndings[])[SmtpBareLineEndings.Accept, SmtpBareLineEndings.Normalize, SmtpBareLineEndings.Reject])
        {
            (byte[] received, int consumed, bool ended, bool sawBare) = Unstuff(sent, seed: Hash(data) | 1, discard: false, policy);
            Check(ended && consumed == sent.Length, $"{policy}: the terminator was not found where the client put it (consumed {consumed} of {sent.Length}, ended {ended})");
            Check(received.AsSpan().SequenceEqual(message.ToArray()), $"{policy}: the message did not come out as it went in");
            Check(!sawBare, $"{policy}: a bare line ending noted in a message of CRLF lines");
        }
    }

    /// <summary>Does <paramref name="message"/> hold a CR not followed by LF, or an LF not preceded by CR?</summary>
    private static bool HasBareLineEnding(ReadOnlySpan<byte> message)
    {
        for (int i = 0; i < message.Length; i++)
        {
            if ((message[i] == (byte)'\r' && (i + 1 == message.Length || message[i + 1] != (byte)'\n'))
                || (message[i] == (byte)'\n' && (i == 0 || message[i - 1] != (byte)'\r')))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <paramref name="message"/> with each bare CR and bare LF made CRLF; a CR at the end of a message that has not
    /// <paramref name="ended"/> stays as it is (the next byte decides whether it is bare).
    /// </summary>
    private static byte[] NormalizeLineEndings(ReadOnlySpan<byte> message, bool ended)
    {
        var result = new List<byte>(message.Length);
        for (int i = 0; i < message.Length; i++)
        {
            byte b = message[i];
            if (b == (byte)'\n' && (i == 0 || message[i - 1] != (byte)'\r'))
            {
                result.Add((byte)'\r');
            }

            result.Add(b);
            if (b == (byte)'\r' && (i + 1 < message.Length ? message[i + 1] != (byte)'\n' : ended))
            {
                result.Add((byte)'\n');
            }
        }

        return [.. result];
    }

    private static (byte[] Output, int Consumed, bool Ended, bool SawBareLineEnding) Unstuff(ReadOnlySpan<byte> input, uint seed, bool discard, SmtpBareLineEndings policy = SmtpBareLineEndings.Accept)
    {
        var unstuffer = new DotUnstuffer(policy);
        var state = seed;
        byte[] output = new byte[seed == 0 ? input.Length + 2 : 2 + (int)(seed % 16)];
        var result = new List<byte>();
        int counted = 0;
        int position = 0;
        while (position < input.Length && !unstuffer.IsEnded)
        {
            int take = seed == 0 ? input.Length - position : Math.Min(input.Length - position, 1 + (int)((state = state * 1664525 + 1013904223) >> 28));
            int consumed = unstuffer.Process(input.Slice(position, take), output, discard, out int written);
            Check(consumed >= 0 && consumed <= take && written >= 0 && (discard || written <= output.Length), $"Process returned {consumed} consumed, {written} written");
            Check(consumed > 0 || written > 0, "Process made no progress");
            if (discard)
            {
                counted += written;
            }
            else
            {
                result.AddRange(output.AsSpan(0, written));
            }

            position += consumed;
        }

        return (discard ? new byte[counted] : result.ToArray(), position, unstuffer.IsEnded, unstuffer.SawBareLineEnding);
    }

    /// <summary>The input's lines: split at LF, CR dropped.</summary>
    private static List<byte[]> Lines(ReadOnlySpan<byte> data)
    {
        var lines = new List<byte[]>();
        var line = new List<byte>();
        foreach (byte b in data)
        {
            if (b == (byte)'\n')
            {
                lines.Add(line.ToArray());
                line.Clear();
            }
            else if (b != (byte)'\r')
            {
                line.Add(b);
            }
        }

        lines.Add(line.ToArray());
        return lines;
    }

    private static uint Hash(ReadOnlySpan<byte> data)
    {
        uint hash = 2166136261;
        foreach (byte b in data)
        {
            hash = (hash ^ b) * 16777619;
        }

        return hash;
    }

    private static SaslServerMechanism Create(string name) => name switch
    {
        SmtpAuthMethods.Plain => new PlainMechanism(),
        SmtpAuthMethods.Login => new LoginMechanism(),
        SmtpAuthMethods.CramMd5 => new CramMd5Mechanism("mx.fuzz.test"),
        SmtpAuthMethods.XOAuth2 => new XOAuth2Mechanism(),
        SmtpAuthMethods.OAuthBearer => new OAuthBearerMechanism(),
        _ => new ScramSha256Mechanism(),
    };

    private static void Check(bool condition, string problem)
    {
        if (!condition)
        {
            throw new FuzzFindingException(problem);
        }
    }
}
