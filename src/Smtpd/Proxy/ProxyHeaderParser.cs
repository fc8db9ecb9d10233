using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Unicode;

namespace Smtpd;

/// <summary>What the first bytes of a connection say about its PROXY header.</summary>
internal enum ProxyHeaderKind : byte
{
    /// <summary>Not a PROXY header.</summary>
    Invalid,

    /// <summary>The start of a version 1 (text) header, <c>PROXY </c>.</summary>
    Version1,

    /// <summary>The start of a version 2 (binary) header, its 12-byte signature.</summary>
    Version2,
}

/// <summary>
/// Parses HAProxy PROXY protocol headers (https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt): version 1
/// strictly to the grammar (<c>PROXY TCP4|TCP6 src dst sport dport</c> or <c>PROXY UNKNOWN …</c>, at most 107 bytes),
/// version 2 with the LOCAL and PROXY commands, the UNSPEC, TCP4, TCP6 and UNIX families, and its TLVs (SSL,
/// authority, ALPN, unique id, network namespace; CRC32C verified; others kept as they are).
/// </summary>
internal static class ProxyHeaderParser
{
    /// <summary>The longest version 1 header the specification allows, CRLF included.</summary>
    public const int MaxVersion1Length = 107;

    /// <summary>The length of the fixed part of a version 2 header.</summary>
    public const int Version2FixedLength = 16;

    /// <summary>The longest version 2 header accepted (fixed part, addresses and TLVs).</summary>
    public const int MaxVersion2Length = 4096;

    /// <summary>The longest <c>PP2_TYPE_UNIQUE_ID</c> value the specification allows.</summary>
    public const int MaxUniqueIdLength = 128;

    private static ReadOnlySpan<byte> Version1Prefix => "PROXY "u8;

    private static ReadOnlySpan<byte> Version2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Classifies the first bytes received (at least one); <see cref="ProxyHeaderKind.Invalid"/> as soon as they cannot start a header.</summary>
    public static ProxyHeaderKind Classify(ReadOnlySpan<byte> start)
    {
        if (start.IsEmpty)
        {
            return ProxyHeaderKind.Invalid;
        }

        if (start[0] == (byte)'P')
        {
            int n = Math.Min(start.Length, Version1Prefix.Length);
            return start[..n].SequenceEqual(Version1Prefix[..n]) ? ProxyHeaderKind.Version1 : ProxyHeaderKind.Invalid;
        }

        if (start[0] == 0x0D)
        {
            int n = Math.Min(start.Length, Version2Signature.Length);
            return start[..n].SequenceEqual(Version2Signature[..n]) ? ProxyHeaderKind.Version2 : ProxyHeaderKind.Invalid;
        }

        return ProxyHeaderKind.Invalid;
    }

    /// <summary>The total length of a version 2 header from its fixed 16 bytes.</summary>
    public static int Version2Length(ReadOnlySpan<byte> fixedPart) =>
        Version2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(fixedPart.Slice(14, 2));

    /// <summary>Parses a version 1 line (its bytes up to and including the LF).</summary>
    public static bool TryParseVersion1(ReadOnlySpan<byte> line, IPAddress proxyAddress, int proxyPort, out SmtpProxyHeader? header, out string reason)
    {
        header = null;
        reason = "";
        if (line.IsEmpty || line[^1] != (byte)'\n')
        {
            reason = "the line does not end with LF";
            return false;
        }

        // CRLF as the specification says; a bare LF is tolerated, as the reference does.
        line = line.Length > 1 && line[^2] == (byte)'\r' ? line[..^2] : line[..^1];
        if (!line.StartsWith(Version1Prefix))
        {
            reason = "the line does not start with 'PROXY '";
            return false;
        }

        ReadOnlySpan<byte> rest = line[Version1Prefix.Length..];
        if (rest.SequenceEqual("UNKNOWN"u8) || rest.StartsWith("UNKNOWN "u8))
        {
            // The proxy does not know the client (or the protocol): the socket's endpoints stay.
            header = new SmtpProxyHeader(1, null, null, proxyAddress, proxyPort);
            return true;
        }

        bool ipv6;
        if (rest.StartsWith("TCP4 "u8))
        {
            ipv6 = false;
        }
        else if (rest.StartsWith("TCP6 "u8))
        {
            ipv6 = true;
        }
        else
        {
            reason = "the protocol is not TCP4, TCP6 or UNKNOWN";
            return false;
        }

        rest = rest[5..];
        Span<Range> fields = stackalloc Range[4];
        int count = 0;
        int fieldStart = 0;
        for (int i = 0; i <= rest.Length; i++)
        {
            if (i < rest.Length && rest[i] != (byte)' ')
            {
                continue;
            }

            if (count == fields.Length)
            {
                count++;
                break;
            }

            fields[count++] = new Range(fieldStart, i);
            fieldStart = i + 1;
        }

        if (count != 4)
        {
            reason = "the line does not have exactly four fields after the protocol";
            return false;
        }

        if (!TryParseAddress(rest[fields[0]], ipv6, out IPAddress? source) || !TryParseAddress(rest[fields[1]], ipv6, out IPAddress? destination))
        {
            reason = ipv6 ? "an address is not an IPv6 address" : "an address is not an IPv4 address";
            return false;
        }

        if (!TryParsePort(rest[fields[2]], out int sourcePort) || !TryParsePort(rest[fields[3]], out int destinationPort))
        {
            reason = "a port is not a number from 0 to 65535";
            return false;
        }

        header = new SmtpProxyHeader(1, new IPEndPoint(IpText.Normalize(source), sourcePort), new IPEndPoint(IpText.Normalize(destination), destinationPort), proxyAddress, proxyPort);
        return true;
    }

    /// <summary>Parses a whole version 2 header (<see cref="Version2Length"/> bytes).</summary>
    public static bool TryParseVersion2(ReadOnlySpan<byte> data, IPAddress proxyAddress, int proxyPort, out SmtpProxyHeader? header, out string reason)
    {
        header = null;
        reason = "";
        if (!data[..Version2Signature.Length].SequenceEqual(Version2Signature))
        {
            reason = "bad signature";
            return false;
        }

        byte versionCommand = data[12];
        if (versionCommand >> 4 != 2)
        {
            reason = "unsupported version";
            return false;
        }

        int command = versionCommand & 0x0F;
        if (command > 1)
        {
            reason = "unknown command";
            return false;
        }

        byte family = data[13];
        ReadOnlySpan<byte> body = data[Version2FixedLength..];
        if (command == 0)
        {
            // LOCAL (health checks and the proxy's own connections): the real endpoints are used and the rest is discarded.
            header = new SmtpProxyHeader(2, null, null, proxyAddress, proxyPort);
            return true;
        }

        int addressLength;
        IPEndPoint? source = null;
        IPEndPoint? destination = null;
        switch (family)
        {
            case 0x00: // UNSPEC: no addresses; the real endpoints stay.
                addressLength = 0;
                break;
            case 0x11: // TCP over IPv4
                addressLength = 12;
                if (body.Length < addressLength)
                {
                    reason = "the IPv4 address block is truncated";
                    return false;
                }

                source = new IPEndPoint(new IPAddress(body[..4]), BinaryPrimitives.ReadUInt16BigEndian(body[8..]));
                destination = new IPEndPoint(new IPAddress(body.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(body[10..]));
                break;
            case 0x21: // TCP over IPv6
                addressLength = 36;
                if (body.Length < addressLength)
                {
                    reason = "the IPv6 address block is truncated";
                    return false;
                }

                source = new IPEndPoint(IpText.Normalize(new IPAddress(body[..16])), BinaryPrimitives.ReadUInt16BigEndian(body[32..]));
                destination = new IPEndPoint(IpText.Normalize(new IPAddress(body.Slice(16, 16))), BinaryPrimitives.ReadUInt16BigEndian(body[34..]));
                break;
            case 0x31: // UNIX stream: not an IP client; the real endpoints stay.
                addressLength = 216;
                if (body.Length < addressLength)
                {
                    reason = "the UNIX address block is truncated";
                    return false;
                }

                break;
            default:
                reason = $"unsupported address family/transport 0x{family:x2}";
                return false;
        }

        var result = new SmtpProxyHeader(2, source, destination, proxyAddress, proxyPort);
        int tlvStart = Version2FixedLength + addressLength;
        if (!TryParseTlvs(data, tlvStart, result, out reason))
        {
            return false;
        }

        header = result;
        return true;
    }

    private static bool TryParseTlvs(ReadOnlySpan<byte> data, int start, SmtpProxyHeader header, out string reason)
    {
        reason = "";
        if (start >= data.Length)
        {
            return true;
        }

        // One copy of the TLV area backs every value handed to the application.
        byte[] area = data[start..].ToArray();
        var tlvs = new List<SmtpProxyTlv>();
        int offset = 0;
        while (offset < area.Length)
        {
            if (area.Length - offset < 3)
            {
                reason = "trailing bytes after the last TLV";
                return false;
            }

            byte type = area[offset];
            int length = BinaryPrimitives.ReadUInt16BigEndian(area.AsSpan(offset + 1, 2));
            int valueStart = offset + 3;
            if (length > area.Length - valueStart)
            {
                reason = $"TLV 0x{type:x2} is longer than the header";
                return false;
            }

            var value = new ReadOnlyMemory<byte>(area, valueStart, length);
            ReadOnlySpan<byte> span = value.Span;
            tlvs.Add(new SmtpProxyTlv(type, value));
            // Informational TLVs that cannot be interpreted (not text, malformed) stay in Tlvs with their property unset;
            // they never cost the client its connection. Only the framing and the checksum can refuse a header.
            switch (type)
            {
                case 0x01: // ALPN
                    header.Alpn = TextOrNull(span);
                    break;
                case 0x02: // AUTHORITY
                    header.Authority = TextOrNull(span);
                    break;
                case 0x03: // CRC32C of the whole header with this field zeroed
                    if (length != 4)
                    {
                        reason = "the CRC32C TLV does not have 4 bytes";
                        return false;
                    }

                    uint expected = BinaryPrimitives.ReadUInt32BigEndian(span);
                    if (Crc32C(data, start + valueStart) != expected)
                    {
                        reason = "CRC32C mismatch";
                        return false;
                    }

                    header.IsChecksumVerified = true;
                    break;
                case 0x05: // UNIQUE_ID: opaque bytes, at most 128
                    if (length <= MaxUniqueIdLength)
                    {
                        header.UniqueId = value;
                    }

                    break;
                case 0x20: // SSL
                    header.Ssl = ParseSsl(span);
                    break;
                case 0x30: // NETNS
                    header.NetworkNamespace = TextOrNull(span);
                    break;
            }

            offset = valueStart + length;
        }

        header.Tlvs = tlvs;
        return true;
    }

    /// <summary>The SSL TLV, or <see langword="null"/> when it is malformed; a sub-field that is not text is left unset.</summary>
    private static SmtpProxySsl? ParseSsl(ReadOnlySpan<byte> value)
    {
        if (value.Length < 5)
        {
            return null;
        }

        byte client = value[0];
        uint verify = BinaryPrimitives.ReadUInt32BigEndian(value[1..]);
        string? version = null, commonName = null, cipher = null, signature = null, key = null;
        ReadOnlySpan<byte> rest = value[5..];
        while (!rest.IsEmpty)
        {
            if (rest.Length < 3)
            {
                return null;
            }

            byte type = rest[0];
            int length = BinaryPrimitives.ReadUInt16BigEndian(rest[1..]);
            if (length > rest.Length - 3)
            {
                return null;
            }

            ReadOnlySpan<byte> sub = rest.Slice(3, length);
            switch (type)
            {
                case 0x21:
                    version = TextOrNull(sub);
                    break;
                case 0x22:
                    commonName = TextOrNull(sub);
                    break;
                case 0x23:
                    cipher = TextOrNull(sub);
                    break;
                case 0x24:
                    signature = TextOrNull(sub);
                    break;
                case 0x25:
                    key = TextOrNull(sub);
                    break;
            }

            rest = rest[(3 + length)..];
        }

        return new SmtpProxySsl(client, verify, version, commonName, cipher, signature, key);
    }

    /// <summary>CRC32C (Castagnoli) of <paramref name="data"/> with the four bytes at <paramref name="zeroedAt"/> taken as zero.</summary>
    private static uint Crc32C(ReadOnlySpan<byte> data, int zeroedAt)
    {
        uint crc = 0xFFFFFFFF;
        for (int i = 0; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, i >= zeroedAt && i < zeroedAt + 4 ? (byte)0 : data[i]);
        }

        return ~crc;
    }

    /// <summary>The value as text when it is valid UTF-8 without control characters, else <see langword="null"/>.</summary>
    private static string? TextOrNull(ReadOnlySpan<byte> value)
    {
        if (!Utf8.IsValid(value))
        {
            return null;
        }

        string decoded = Encoding.UTF8.GetString(value);
        return XText.HasControl(decoded) ? null : decoded;
    }

    private static bool TryParseAddress(ReadOnlySpan<byte> field, bool ipv6, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (field.IsEmpty || field.Length > 45)
        {
            return false;
        }

        Span<char> text = stackalloc char[field.Length];
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] > 0x7E || field[i] < 0x21)
            {
                return false;
            }

            text[i] = (char)field[i];
        }

        if (ipv6)
        {
            return IpText.TryParseIPv6(text, out address);
        }

        if (!IpText.IsStrictIPv4(text))
        {
            return false;
        }

        address = IPAddress.Parse(text);
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<byte> field, out int port)
    {
        port = 0;
        if (field.IsEmpty || field.Length > 5)
        {
            return false;
        }

        return int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535;
    }
}
