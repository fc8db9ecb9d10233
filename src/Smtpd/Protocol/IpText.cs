using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smtpd;

/// <summary>IP address text as the reference writes and accepts it.</summary>
internal static class IpText
{
    /// <summary>Four decimal octets 0–255 without leading zeros.</summary>
    public static bool IsStrictIPv4(ReadOnlySpan<char> value)
    {
        int parts = 0;
        foreach (Range range in value.Split('.'))
        {
            ReadOnlySpan<char> part = value[range];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            foreach (char c in part)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }
            }

            if (int.Parse(part, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }

            parts++;
        }

        return parts == 4;
    }

    /// <summary>RFC 5952 text of an IPv6 address given as text; dotted-quad input keeps its dotted tail. <see langword="null"/> when invalid.</summary>
    public static string? CanonicalIPv6(ReadOnlySpan<char> value) =>
        TryParseIPv6(value, out IPAddress? address) ? Format(address, value.Contains('.')) : null;

    /// <summary>Parses the text of an IPv6 address (no zone index); <see langword="false"/> for anything else.</summary>
    public static bool TryParseIPv6(ReadOnlySpan<char> value, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        return !value.IsEmpty && !value.Contains('%') && value.Contains(':')
            && IPAddress.TryParse(value, out address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    /// <summary>The text the session shows for an address: IPv4-mapped IPv6 as IPv4, IPv6 in RFC 5952 form.</summary>
    public static IPAddress Normalize(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static string Format(IPAddress address, bool dottedTail)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        Span<ushort> words = stackalloc ushort[8];
        for (int i = 0; i < 8; i++)
        {
            words[i] = (ushort)((bytes[2 * i] << 8) | bytes[(2 * i) + 1]);
        }

        int hexWords = dottedTail ? 6 : 8;

        // Longest run of zero words (length >= 2), first one wins.
        int bestStart = -1;
        int bestLength = 0;
        for (int i = 0; i < hexWords;)
        {
            if (words[i] != 0)
            {
                i++;
                continue;
            }

            int start = i;
            while (i < hexWords && words[i] == 0)
            {
                i++;
            }

            if (i - start > bestLength && i - start >= 2)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }

        var builder = new StringBuilder(45);
        for (int i = 0; i < hexWords; i++)
        {
            if (i == bestStart)
            {
                builder.Append(i == 0 ? "::" : ":");
                i += bestLength - 1;
                continue;
            }

            builder.Append(words[i].ToString("x", CultureInfo.InvariantCulture));
            if (i < hexWords - 1)
            {
                builder.Append(':');
            }
        }

        if (dottedTail)
        {
            if (builder.Length > 0 && builder[^1] != ':')
            {
                builder.Append(':');
            }

            builder.Append(CultureInfo.InvariantCulture, $"{bytes[12]}.{bytes[13]}.{bytes[14]}.{bytes[15]}");
        }

        return builder.ToString();
    }
}
