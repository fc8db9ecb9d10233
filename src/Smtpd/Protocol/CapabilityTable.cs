using System.Buffers;
using System.Text;

namespace Smtpd;

/// <summary>Which EHLO/LHLO keywords a connection advertises, in the reference's fixed order.</summary>
[Flags]
internal enum Capabilities
{
    None = 0,
    Auth = 1,
    StartTls = 2,
    RequireTls = 4,
    XClient = 8,
    XForward = 16,
    Chunking = 32,
}

/// <summary>The EHLO/LHLO reply: the keyword lines pre-encoded once per server, chosen per connection state.</summary>
internal sealed class CapabilityTable
{
    private readonly byte[][] _static;
    private readonly byte[]? _auth;
    private readonly string[] _authMethods;
    private readonly byte[]? _size;
    private readonly byte[]? _limits;
    private static readonly byte[] StartTlsLine = "STARTTLS"u8.ToArray();
    private static readonly byte[] RequireTlsLine = "REQUIRETLS"u8.ToArray();
    private static readonly byte[] XClientLine = "XCLIENT NAME ADDR PORT PROTO HELO LOGIN"u8.ToArray();
    private static readonly byte[] XForwardLine = "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE"u8.ToArray();
    private static readonly byte[] ChunkingLine = "CHUNKING"u8.ToArray();
    private static readonly byte[] BinaryMimeLine = "BINARYMIME"u8.ToArray();

    public CapabilityTable(SmtpServerOptions options)
    {
        var lines = new List<byte[]>();
        if (!options.HidePipelining)
        {
            lines.Add("PIPELINING"u8.ToArray());
        }

        if (!options.Hide8BitMime)
        {
            lines.Add("8BITMIME"u8.ToArray());
        }

        if (!options.HideSmtpUtf8)
        {
            lines.Add("SMTPUTF8"u8.ToArray());
        }

        if (!options.HideEnhancedStatusCodes)
        {
            lines.Add("ENHANCEDSTATUSCODES"u8.ToArray());
        }

        if (!options.HideDsn)
        {
            lines.Add("DSN"u8.ToArray());
        }

        _static = [.. lines];
        _authMethods = [.. options.AuthMethods.Select(m => m.Trim().ToUpperInvariant())];
        if (_authMethods.Length > 0)
        {
            _auth = Encoding.ASCII.GetBytes("AUTH " + string.Join(' ', _authMethods));
        }

        if (options.Size > 0)
        {
            _size = Encoding.ASCII.GetBytes(options.HideSize ? "SIZE" : "SIZE " + options.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        OffersChunking = !options.HideChunking;
        _limits = LimitsLine(options);
    }

    /// <summary>
    /// CHUNKING and BINARYMIME are on for the endpoint (<see cref="SmtpServerOptions.HideChunking"/> is false); a session
    /// that disables <c>BDAT</c> has neither. <c>BODY=BINARYMIME</c> is accepted exactly when they are advertised.
    /// </summary>
    public bool OffersChunking { get; }

    /// <summary><see langword="true"/> when at least one mechanism is configured.</summary>
    public bool HasAuthMechanisms => _auth is not null;

    /// <summary>RFC 9422 <c>LIMITS RCPTMAX=n MAILMAX=n</c> with the limits that are set, or nothing (hidden, or no limit set).</summary>
    private static byte[]? LimitsLine(SmtpServerOptions options)
    {
        if (options.HideLimits || (options.MaxRecipients == 0 && options.MaxTransactions == 0))
        {
            return null;
        }

        var line = new StringBuilder("LIMITS");
        if (options.MaxRecipients > 0)
        {
            line.Append(System.Globalization.CultureInfo.InvariantCulture, $" RCPTMAX={options.MaxRecipients}");
        }

        if (options.MaxTransactions > 0)
        {
            line.Append(System.Globalization.CultureInfo.InvariantCulture, $" MAILMAX={options.MaxTransactions}");
        }

        return Encoding.ASCII.GetBytes(line.ToString());
    }

    /// <summary>Is <paramref name="mechanism"/> (any case) one of the advertised AUTH mechanisms?</summary>
    public bool OffersAuth(string mechanism) => Array.Exists(_authMethods, m => m.Equals(mechanism, StringComparison.OrdinalIgnoreCase));

    /// <summary>Writes the multi-line 250 reply: <paramref name="firstLine"/>, then the keywords selected by <paramref name="dynamic"/>.</summary>
    public void Write(IBufferWriter<byte> writer, string firstLine, Capabilities dynamic)
    {
        // Collect the lines in order, then write them with '-' on all but the last.
        Span<int> order = stackalloc int[16];
        int count = 0;
        for (int i = 0; i < _static.Length; i++)
        {
            order[count++] = i;
        }

        if ((dynamic & Capabilities.Auth) != 0 && _auth is not null)
        {
            order[count++] = 100;
        }

        if ((dynamic & Capabilities.StartTls) != 0)
        {
            order[count++] = 101;
        }

        if ((dynamic & Capabilities.RequireTls) != 0)
        {
            order[count++] = 102;
        }

        if (_size is not null)
        {
            order[count++] = 103;
        }

        if ((dynamic & Capabilities.XClient) != 0)
        {
            order[count++] = 104;
        }

        if ((dynamic & Capabilities.XForward) != 0)
        {
            order[count++] = 105;
        }

        if ((dynamic & Capabilities.Chunking) != 0)
        {
            order[count++] = 106;
            order[count++] = 107;
        }

        if (_limits is not null)
        {
            order[count++] = 108;
        }

        ReplyWriter.Write(writer, 250, null, firstLine, continuation: count > 0);
        for (int i = 0; i < count; i++)
        {
            byte[] line = order[i] switch
            {
                100 => _auth!,
                101 => StartTlsLine,
                102 => RequireTlsLine,
                103 => _size!,
                104 => XClientLine,
                105 => XForwardLine,
                106 => ChunkingLine,
                107 => BinaryMimeLine,
                108 => _limits!,
                int index => _static[index],
            };
            bool last = i == count - 1;
            Span<byte> span = writer.GetSpan(line.Length + 6);
            "250"u8.CopyTo(span);
            span[3] = last ? (byte)' ' : (byte)'-';
            line.CopyTo(span[4..]);
            span[4 + line.Length] = (byte)'\r';
            span[5 + line.Length] = (byte)'\n';
            writer.Advance(line.Length + 6);
        }
    }
}
