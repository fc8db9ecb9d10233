using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// A parsed set of IP addresses and CIDR ranges (or "every address"), matched without allocating. IPv4-mapped IPv6
/// entries and peers are compared as IPv4, so <c>::ffff:10.0.0.5</c> and <c>10.0.0.5</c> are the same peer.
/// </summary>
internal sealed class AddressMatcher
{
    private readonly Range4[] _ipv4;
    private readonly Range6[] _ipv6;

    private AddressMatcher(bool matchesAll, Range4[] ipv4, Range6[] ipv6)
    {
        MatchesAll = matchesAll;
        _ipv4 = ipv4;
        _ipv6 = ipv6;
    }

    /// <summary>Matches nothing.</summary>
    public static AddressMatcher Nobody { get; } = new(false, [], []);

    /// <summary>Matches every address.</summary>
    public static AddressMatcher Everybody { get; } = new(true, [], []);

    /// <summary><see langword="true"/> when every address matches.</summary>
    public bool MatchesAll { get; }

    /// <summary>
    /// Parses <paramref name="entries"/>: IP addresses (<c>192.0.2.1</c>, <c>2001:db8::1</c>) and CIDR ranges
    /// (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>; host bits are ignored), plus <c>*</c> for everybody when
    /// <paramref name="allowWildcard"/>. Throws <see cref="ArgumentException"/> naming <paramref name="optionName"/> for a bad entry.
    /// </summary>
    public static AddressMatcher Parse(IEnumerable<string?> entries, string optionName, bool allowWildcard)
    {
        var ipv4 = new List<Range4>();
        var ipv6 = new List<Range6>();
        bool all = false;
        foreach (string? raw in entries)
        {
            string entry = raw?.Trim() ?? "";
            if (entry == "*" && allowWildcard)
            {
                all = true;
                continue;
            }

            if (!TryParseRange(entry, out Range4 range4, out Range6 range6, out bool isIPv4))
            {
                throw new ArgumentException(
                    $"{optionName}: '{raw}' is not an IP address or CIDR range (expected for example 192.0.2.10, 10.0.0.0/8, 2001:db8::1 or 2001:db8::/32{(allowWildcard ? ", or * for every peer" : "")}).",
                    optionName);
            }

            if (isIPv4)
            {
                ipv4.Add(range4);
            }
            else
            {
                ipv6.Add(range6);
            }
        }

        return all ? Everybody : ipv4.Count == 0 && ipv6.Count == 0 ? Nobody : new AddressMatcher(false, [.. ipv4], [.. ipv6]);
    }

    /// <summary>Does <paramref name="address"/> belong to the set?</summary>
    public bool Contains(IPAddress address)
    {
        if (MatchesAll)
        {
            return true;
        }

        if (_ipv4.Length == 0 && _ipv6.Length == 0)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            if (!address.TryWriteBytes(bytes, out _))
            {
                return false;
            }

            uint value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            foreach (Range4 range in _ipv4)
            {
                if ((value & range.Mask) == range.Network)
                {
                    return true;
                }
            }

            // An IPv6 range such as ::/0 or ::ffff:0:0/96 also covers IPv4 peers in their mapped form.
            if (_ipv6.Length > 0)
            {
                UInt128 mapped = ((UInt128)0xFFFF << 32) | value;
                return ContainsIPv6(mapped);
            }

            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.TryWriteBytes(bytes, out _))
        {
            return ContainsIPv6(BinaryPrimitives.ReadUInt128BigEndian(bytes));
        }

        return false;
    }

    private bool ContainsIPv6(UInt128 value)
    {
        foreach (Range6 range in _ipv6)
        {
            if ((value & range.Mask) == range.Network)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseRange(string entry, out Range4 range4, out Range6 range6, out bool isIPv4)
    {
        range4 = default;
        range6 = default;
        isIPv4 = false;
        int slash = entry.IndexOf('/', StringComparison.Ordinal);
        ReadOnlySpan<char> addressText = slash < 0 ? entry : entry.AsSpan(0, slash);
        int? prefix = null;
        if (slash >= 0)
        {
            ReadOnlySpan<char> prefixText = entry.AsSpan(slash + 1);
            if (prefixText.IsEmpty || prefixText.Length > 3 || !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
            {
                return false;
            }

            prefix = parsed;
        }

        IPAddress? address;
        if (IpText.IsStrictIPv4(addressText))
        {
            address = IPAddress.Parse(addressText);
        }
        else if (!IpText.TryParseIPv6(addressText, out address))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 && (prefix is null || prefix >= 96))
        {
            // ::ffff:a.b.c.d[/96+n] is the IPv4 range a.b.c.d/n.
            isIPv4 = true;
            uint mappedValue = BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]);
            return TryMake4(mappedValue, prefix is null ? 32 : prefix.Value - 96, out range4);
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            isIPv4 = true;
            return TryMake4(BinaryPrimitives.ReadUInt32BigEndian(bytes), prefix ?? 32, out range4);
        }

        int length = prefix ?? 128;
        if (length > 128)
        {
            return false;
        }

        UInt128 mask = length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
        range6 = new Range6(BinaryPrimitives.ReadUInt128BigEndian(bytes) & mask, mask);
        return true;
    }

    private static bool TryMake4(uint value, int length, out Range4 range)
    {
        range = default;
        if (length is < 0 or > 32)
        {
            return false;
        }

        uint mask = length == 0 ? 0u : uint.MaxValue << (32 - length);
        range = new Range4(value & mask, mask);
        return true;
    }

    private readonly record struct Range4(uint Network, uint Mask);

    private readonly record struct Range6(UInt128 Network, UInt128 Mask);
}
