using System.Net;
using System.Security.Cryptography;

namespace Smtpd;

/// <summary>
/// The state of one client connection, handed to every handler. The same object lives for the whole
/// connection; the envelope is replaced at every reset (HELO/EHLO/LHLO, RSET, after DATA, after STARTTLS).
/// </summary>
public sealed partial class SmtpSession
{
    private const int IdBytesPerFill = 640;
    private static readonly string[] TransmissionTypes = BuildTransmissionTypes();

    // Random bytes for session ids, fetched 64 ids at a time per thread (see NewId).
    [ThreadStatic]
    private static byte[]? t_idBytes;

    [ThreadStatic]
    private static int t_idOffset;

    private Dictionary<object, object?>? _items;
    private object? _error;
    private MailTransaction? _transaction;

    internal SmtpSession(string id, bool lmtp, bool dsn)
    {
        Id = id;
        IsLmtp = lmtp;
        DsnEnabled = dsn;
    }

    /// <summary>The connection id: 16 characters of base-32 (<c>0-9a-v</c>) from 80 random bits. Every log line of the connection carries it.</summary>
    public string Id { get; }

    /// <summary>The local address of the socket (PROXY never changes it).</summary>
    public IPAddress LocalAddress { get; internal set; } = IPAddress.None;

    /// <summary>The local port of the socket.</summary>
    public int LocalPort { get; internal set; }

    /// <summary>OpenTelemetry's <c>network.transport</c> of the connection: <c>tcp</c>, <c>unix</c>, or <see langword="null"/> for a stream handed to the server.</summary>
    internal string? NetworkTransport { get; init; }

    /// <summary>The client's address: the socket peer, or the address announced by a trusted PROXY header, XCLIENT or XFORWARD.
    /// IPv4-mapped IPv6 addresses are given as IPv4.</summary>
    public IPAddress RemoteAddress { get; internal set; } = IPAddress.None;

    /// <summary>The client's port (0 when unknown).</summary>
    public int RemotePort { get; internal set; }

    /// <summary>The reverse-DNS name of the client (lower-case, no trailing dot), or <c>[address]</c> when there is none or the lookup is disabled.</summary>
    public string ClientHostname { get; internal set; } = "";

    /// <summary>The last greeting command seen (<c>HELO</c>, <c>EHLO</c> or <c>LHLO</c>), or <see langword="null"/> before any.</summary>
    public string? OpeningCommand { get; internal set; }

    /// <summary>The argument of the accepted HELO/EHLO/LHLO, lower-cased, or <see langword="null"/> before one was accepted.</summary>
    public string? HostNameAppearsAs { get; internal set; }

    /// <summary>
    /// The envelope of the current transaction. While the <c>MAIL FROM</c> handler runs it is the one that command
    /// proposes (with its BODY, SMTPUTF8, REQUIRETLS and DSN values); it stays only if the sender is accepted.
    /// </summary>
    public SmtpEnvelope Envelope => MailTransaction.Envelope;

    /// <summary>1 + the number of DATA transactions completed on this connection (successful or not).</summary>
    public int Transaction { get; internal set; } = 1;

    /// <summary>
    /// The RFC 3848 transmission type: <c>SMTP</c> or <c>LMTP</c>, prefixed with <c>E</c> after EHLO, suffixed with
    /// <c>S</c> when secure and then <c>A</c> when authenticated (<c>ESMTPSA</c>).
    /// </summary>
    public string TransmissionType
    {
        get
        {
            int index = (IsLmtp ? 8 : 0) | (OpeningCommand == "EHLO" ? 4 : 0) | (Secure ? 2 : 0) | (User is not null ? 1 : 0);
            return TransmissionTypes[index];
        }
    }

    /// <summary><see langword="true"/> when the connection is encrypted (implicit TLS, STARTTLS, or TLS terminated by the caller).</summary>
    public bool Secure { get; internal set; }

    /// <summary>The authenticated user as returned by the AUTH handler, or <see langword="null"/>.</summary>
    public object? User { get; internal set; }

    /// <summary>The last reply of 400 or above sent on this connection (the whole line, with code and enhanced code).</summary>
    public string? Error
    {
        get
        {
            if (_error is byte[] line)
            {
                _error = System.Text.Encoding.UTF8.GetString(line.AsSpan(0, line.Length - 2));
            }

            return (string?)_error;
        }

        internal set => _error = value;
    }

    /// <summary><see langword="true"/> after a <c>WIZ</c> command with an argument (the reference's easter egg; it grants nothing).</summary>
    public bool IsWizard { get; internal set; }

    /// <summary>
    /// Commands disabled for this connection only (case-insensitive), replacing <see cref="SmtpServerOptions.DisabledCommands"/>
    /// while set; <see langword="null"/> restores the server's list. Typically set in the connect handler.
    /// </summary>
    public IReadOnlyCollection<string>? DisabledCommands { get; set; }

    /// <summary>A place for the application's own per-connection state; it survives every reset.</summary>
    public IDictionary<object, object?> Items => _items ??= [];

    internal bool IsLmtp { get; }

    /// <summary>Records a pre-encoded error reply line (CRLF included); decoded only if someone reads <see cref="Error"/>.</summary>
    internal void SetErrorLine(byte[] line) => _error = line;

    internal bool DsnEnabled { get; }

    /// <summary>The connection's mail transaction, made when first used.</summary>
    internal MailTransaction MailTransaction => _transaction ??= new MailTransaction(DsnEnabled);

    /// <summary>The mail transaction if one was ever started (no allocation for connections that never send mail).</summary>
    internal MailTransaction? CurrentTransaction => _transaction;

    /// <summary>The client's address as a host name: <c>[192.0.2.1]</c>.</summary>
    internal string BracketedRemoteAddress => "[" + RemoteAddress + "]";

    /// <summary>The identity reset of STARTTLS (RFC 3207) and XCLIENT: the client must greet again and is not authenticated.</summary>
    internal void ResetIdentity()
    {
        User = null;
        HostNameAppearsAs = null;
        OpeningCommand = null;
    }

    /// <summary>
    /// A new session id: 80 random bits from the operating system's CSPRNG as 16 base-32 digits. The bytes are fetched
    /// for 64 ids at a time into a per-thread buffer, each byte used once: one call into the CSPRNG (and its fork check)
    /// per 64 connections instead of one per connection.
    /// </summary>
    internal static string NewId()
    {
        byte[] pool = t_idBytes ??= new byte[IdBytesPerFill];
        if (t_idOffset == 0)
        {
            RandomNumberGenerator.Fill(pool);
        }

        ReadOnlySpan<byte> bytes = pool.AsSpan(t_idOffset, 10);
        t_idOffset = (t_idOffset + 10) % IdBytesPerFill;
        Span<char> chars = stackalloc char[16];
        // 80 bits = 16 base-32 digits of 5 bits, most significant first.
        ulong high = ((ulong)bytes[0] << 32) | ((ulong)bytes[1] << 24) | ((ulong)bytes[2] << 16) | ((ulong)bytes[3] << 8) | bytes[4];
        ulong low = ((ulong)bytes[5] << 32) | ((ulong)bytes[6] << 24) | ((ulong)bytes[7] << 16) | ((ulong)bytes[8] << 8) | bytes[9];
        const string digits = "0123456789abcdefghijklmnopqrstuv";
        for (int i = 7; i >= 0; i--)
        {
            chars[i] = digits[(int)(high & 31)];
            high >>= 5;
            chars[i + 8] = digits[(int)(low & 31)];
            low >>= 5;
        }

        return new string(chars);
    }

    private static string[] BuildTransmissionTypes()
    {
        var types = new string[16];
        for (int i = 0; i < 16; i++)
        {
            string type = (i & 8) != 0 ? "LMTP" : "SMTP";
            if ((i & 4) != 0)
            {
                type = "E" + type;
            }

            if ((i & 2) != 0)
            {
                type += "S";
            }

            if ((i & 1) != 0)
            {
                type += "A";
            }

            types[i] = type;
        }

        return types;
    }
}
