using System.Net;
using System.Text;

namespace Smtpd.Tests.Proxy;

/// <summary>The header parsers on their own: mutated and random input never throws, and what is accepted is sane.</summary>
public class ProxyHeaderParserTests
{
    private static readonly IPAddress Proxy = IPAddress.Loopback;

    private static byte[] Mutate(Random random, byte[] valid)
    {
        byte[] data = (byte[])valid.Clone();
        switch (random.Next(4))
        {
            case 0:
                data[random.Next(data.Length)] = (byte)random.Next(256);
                break;
            case 1:
                data = data[..random.Next(1, data.Length + 1)];
                break;
            case 2:
                int at = random.Next(data.Length);
                data = [.. data[..at], (byte)random.Next(256), .. data[at..]];
                break;
            default:
                for (int i = 0; i < 4; i++)
                {
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                }

                break;
        }

        return data;
    }

    [Fact]
    public void Mutated_version_1_lines_never_throw()
    {
        var random = new Random(1234);
        byte[][] corpus =
        [
            Encoding.ASCII.GetBytes("PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\n"),
            Encoding.ASCII.GetBytes("PROXY TCP6 2001:db8::1 2001:db8::2 4000 25\r\n"),
            Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\n"),
        ];
        int accepted = 0;
        for (int i = 0; i < 20000; i++)
        {
            byte[] line = Mutate(random, corpus[i % corpus.Length]);
            if (ProxyHeaderParser.TryParseVersion1(line, Proxy, 1, out SmtpProxyHeader? header, out string reason))
            {
                accepted++;
                Assert.NotNull(header);
                Assert.InRange(header.Source?.Port ?? 0, 0, 65535);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(reason));
            }
        }

        Assert.InRange(accepted, 1, 19999);
    }

    [Fact]
    public void Mutated_version_2_headers_never_throw()
    {
        var random = new Random(4321);
        byte[][] corpus =
        [
            ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25).Tlv(0x02, "mx.example").Ssl(0x01, 0, (0x21, "TLSv1.3")).Build(),
            ProxyV2Builder.Tcp6("2001:db8::1", 2, "2001:db8::2", 25).Tlv(0x05, "id").BuildWithCrc(),
            ProxyV2Builder.Local().Build(),
        ];
        int accepted = 0;
        for (int i = 0; i < 20000; i++)
        {
            byte[] data = Mutate(random, corpus[i % corpus.Length]);
            if (data.Length < ProxyHeaderParser.Version2FixedLength || ProxyHeaderParser.Version2Length(data) != data.Length)
            {
                // The reader only hands over exactly the announced length.
                continue;
            }

            if (ProxyHeaderParser.TryParseVersion2(data, Proxy, 1, out SmtpProxyHeader? header, out string reason))
            {
                accepted++;
                Assert.NotNull(header);
                Assert.All(header.Tlvs, t => Assert.True(t.Value.Length <= data.Length));
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(reason));
            }
        }

        Assert.True(accepted > 0);
    }

    [Fact]
    public void Random_bytes_are_classified_without_throwing()
    {
        var random = new Random(99);
        var buffer = new byte[32];
        for (int i = 0; i < 10000; i++)
        {
            random.NextBytes(buffer);
            int length = random.Next(1, buffer.Length + 1);
            if (i % 3 == 0)
            {
                // Often start like a real header, so both prefixes are exercised.
                byte[] start = i % 2 == 0 ? Encoding.ASCII.GetBytes("PROXY ") : ProxyV2Builder.Signature;
                start.AsSpan(0, random.Next(1, start.Length + 1)).CopyTo(buffer);
            }

            ReadOnlySpan<byte> data = buffer.AsSpan(0, length);
            Assert.Equal(Expected(data), ProxyHeaderParser.Classify(data));
        }

        static ProxyHeaderKind Expected(ReadOnlySpan<byte> data)
        {
            ReadOnlySpan<byte> v1 = "PROXY "u8;
            ReadOnlySpan<byte> v2 = ProxyV2Builder.Signature;
            if (data[..Math.Min(data.Length, v1.Length)].SequenceEqual(v1[..Math.Min(data.Length, v1.Length)]))
            {
                return ProxyHeaderKind.Version1;
            }

            return data[..Math.Min(data.Length, v2.Length)].SequenceEqual(v2[..Math.Min(data.Length, v2.Length)])
                ? ProxyHeaderKind.Version2
                : ProxyHeaderKind.Invalid;
        }
    }
}
