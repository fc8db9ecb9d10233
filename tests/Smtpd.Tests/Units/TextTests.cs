namespace Smtpd.Tests.Units;

public class TextTests
{
    [Theory]
    [InlineData("a+2Bb", "a+b")]
    [InlineData("x+20y", "x y")]
    [InlineData("+4a", "+4a")]
    [InlineData("plain", "plain")]
    [InlineData("end+2", "end+2")]
    [InlineData("+2B", "+")]
    public void XText_decodes_upper_case_escapes_only(string input, string expected) => Assert.Equal(expected, XText.Decode(input));

    [Theory]
    [InlineData("a b+c=d", "a+20b+2Bc+3Dd")]
    [InlineData("é", "+C3+A9")]
    public void XText_encodes_round_trip(string input, string expected)
    {
        Assert.Equal(expected, XText.Encode(input));
    }

    [Theory]
    [InlineData("2001:DB8:0::1", "2001:db8::1")]
    [InlineData("::ffff:c0a8:0101", "::ffff:c0a8:101")]
    [InlineData("::ffff:192.168.1.1", "::ffff:192.168.1.1")]
    [InlineData("1:0:0:1:0:0:0:1", "1:0:0:1::1")]
    [InlineData("1:0:0:0:1:0:0:1", "1::1:0:0:1")]
    [InlineData("fe80::", "fe80::")]
    [InlineData("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8")]
    [InlineData("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7")]
    [InlineData("fe80::1%eth0", null)]
    [InlineData("1.2.3.4", null)]
    [InlineData("zz::1", null)]
    public void IPv6_is_written_in_RFC_5952_form(string input, string? expected) => Assert.Equal(expected, IpText.CanonicalIPv6(input));

    [Theory]
    [InlineData("1.2.3.4", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("256.1.1.1", false)]
    [InlineData("01.1.1.1", false)]
    [InlineData("1.1.1", false)]
    [InlineData("1.1.1.1.1", false)]
    [InlineData("a.b.c.d", false)]
    public void Strict_IPv4(string input, bool valid) => Assert.Equal(valid, IpText.IsStrictIPv4(input));

    [Theory]
    [InlineData("Mail.Example.COM.", "mail.example.com")]
    [InlineData("under_score.example", "under_score.example")]
    [InlineData("a-.example", null)]
    [InlineData("", null)]
    [InlineData("x..y", null)]
    [InlineData("bad!host.example.com", null)]
    public void Hostname_rules(string input, string? expected) => Assert.Equal(expected, HostnameRules.Normalize(input));

    [Theory]
    [InlineData("NOOP", (int)SmtpCommand.Noop, 4)]
    [InlineData("noop x", (int)SmtpCommand.Noop, 4)]
    [InlineData("StartTLS", (int)SmtpCommand.StartTls, 8)]
    [InlineData("xforward ADDR=1", (int)SmtpCommand.XForward, 8)]
    [InlineData("NOO", (int)SmtpCommand.Unknown, 3)]
    [InlineData("NOOP\t", (int)SmtpCommand.Unknown, 5)]
    [InlineData("N0OP", (int)SmtpCommand.Unknown, 4)]
    [InlineData("", (int)SmtpCommand.Unknown, 0)]
    [InlineData("wiz", (int)SmtpCommand.Wiz, 3)]
    [InlineData("MAIL FROM:<a@b>", (int)SmtpCommand.Mail, 4)]
    public void Command_verbs_are_recognised_case_insensitively(string line, int expected, int verbLength)
    {
        Assert.Equal((SmtpCommand)expected, CommandParser.Identify(System.Text.Encoding.ASCII.GetBytes(line), out int length));
        Assert.Equal(verbLength, length);
    }

    [Theory]
    [InlineData(550, "5.1.1")]
    [InlineData(421, "4.4.2")]
    [InlineData(299, "2.0.0")]
    [InlineData(499, "4.0.0")]
    [InlineData(599, "5.0.0")]
    [InlineData(556, "5.1.10")]
    public void Enhanced_codes_from_reply_codes(int code, string expected) => Assert.Equal(expected, EnhancedStatusCode.ForCode(code));
}
