namespace Smtpd.Tests.Protocol;

/// <summary>Address validation (§8.3, §8.4) through the wire, with the handler seeing the normalised address.</summary>
public class AddressTests
{
    private static async Task<(int Code, string? Address)> SendMailFrom(string path, bool lenient = false)
    {
        string? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.LenientAddressParsing = lenient;
            o.OnMailFrom = (a, s, ct) =>
            {
                seen = a.Address;
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        int code = (await client.CommandAsync("MAIL FROM:" + path)).Code;
        return (code, seen);
    }

    [Theory]
    [InlineData("<test@example.com>", "test@example.com")]
    [InlineData("<test@[192.168.5.146]>", "test@[192.168.5.146]")]
    [InlineData("<test@[IPv6:2001:db8::1]>", "test@[IPv6:2001:db8::1]")]
    [InlineData("<test@[ipv6:fe80::1]>", "test@[IPv6:fe80::1]")]
    [InlineData("<test@[IPv6:2001:0db8:0000:0000:0000:0000:0000:0001]>", "test@[IPv6:2001:db8::1]")]
    [InlineData("<test@[IPv6:0:0:0:0:0:0:0:1]>", "test@[IPv6:::1]")]
    [InlineData("<test@[IPv6:::ffff:192.168.1.1]>", "test@[IPv6:::ffff:192.168.1.1]")]
    [InlineData("<test@[IPv6:::ffff:c0a8:0101]>", "test@[IPv6:::ffff:c0a8:101]")]
    [InlineData("<a@xn--bcher-kva.example>", "a@bücher.example")]
    [InlineData("<\"sender\"@example.com>", "\"sender\"@example.com")]
    [InlineData("<user+caf_=fwd=example.org@gmail.com>", "user+caf_=fwd=example.org@gmail.com")]
    [InlineData("<a@-b.c>", "a@-b.c")]
    [InlineData("<Mixed.Case@Example.COM>", "Mixed.Case@Example.COM")]
    [InlineData("<@r.example,@s.example:a@b.c>", "a@b.c")]
    [InlineData(" <a@b.c> ", "a@b.c")]
    [InlineData("<δοκιμή@παράδειγμα.δοκιμή>", "δοκιμή@παράδειγμα.δοκιμή")]
    public async Task Valid_addresses_are_normalised(string path, string expected)
    {
        (int code, string? address) = await SendMailFrom(path);
        Assert.Equal(250, code);
        Assert.Equal(expected, address);
    }

    [Theory]
    [InlineData("<test@[999.999.999.999]>")]
    [InlineData("<test@[192.168.1]>")]
    [InlineData("<test@[01.2.3.4]>")]
    [InlineData("<test@[IPv6:invalid]>")]
    [InlineData("<test@[]>")]
    [InlineData("<test@[notanip]>")]
    [InlineData("<ilo.@example.com>")]
    [InlineData("<.test@example.com>")]
    [InlineData("<te..st@example.com>")]
    [InlineData("<test@example..com>")]
    [InlineData("<test@example.com.>")]
    [InlineData("<test@.example.com>")]
    [InlineData("<test@exa_mple.com>")]
    [InlineData("<test@a.-b.com>")]
    [InlineData("<a@b@c.d>")]
    [InlineData("<test>")]
    [InlineData("<@example.com>")]
    [InlineData("<test@>")]
    [InlineData("test@example.com")]
    [InlineData("<a@b.c>SIZE=1")]
    [InlineData("<\"a b\"@c.d>")]
    [InlineData("<a\u200B@b.c>")]
    [InlineData("<a@b\u2060.c>")]
    [InlineData("<a@b\uFEFF.c>")]
    [InlineData("<a\u0085@b.c>")]
    [InlineData("<a@xn--zz-.example>")]
    public async Task Invalid_addresses_get_501(string path)
    {
        (int code, string? address) = await SendMailFrom(path);
        Assert.Equal(501, code);
        Assert.Null(address);
    }

    [Fact]
    public async Task An_address_longer_than_253_characters_is_refused_unless_lenient()
    {
        string path = "<" + new string('a', 250) + "@b.cd>";
        Assert.Equal(501, (await SendMailFrom(path)).Code);
        Assert.Equal(250, (await SendMailFrom(path, lenient: true)).Code);
    }

    [Theory]
    [InlineData("<ilo.@example.com>", "ilo.@example.com")]
    [InlineData("<.test@example.com>", ".test@example.com")]
    [InlineData("<te..st@example.com>", "te..st@example.com")]
    [InlineData("<test@example..com>", "test@example..com")]
    [InlineData("<a@[1.2.3.4]x>", "a@[1.2.3.4]x")]
    [InlineData("<a@[IPv6:2001:0db8::1]>", "a@[IPv6:2001:0db8::1]")]
    public async Task Lenient_parsing_accepts_non_compliant_addresses(string path, string expected)
    {
        (int code, string? address) = await SendMailFrom(path, lenient: true);
        Assert.Equal(250, code);
        Assert.Equal(expected, address);
    }

    [Theory]
    [InlineData("<test>")]
    [InlineData("<@example.com>")]
    [InlineData("<test@>")]
    [InlineData("test@example.com")]
    [InlineData("<a\u200B@b.c>")]
    [InlineData("<a\u001B@b.c>")]
    public async Task Lenient_parsing_still_checks_structure_and_invisible_characters(string path)
    {
        Assert.Equal(501, (await SendMailFrom(path, lenient: true)).Code);
    }

    [Fact]
    public async Task Null_sender_is_allowed_for_MAIL_only()
    {
        (int code, string? address) = await SendMailFrom("<>");
        Assert.Equal(250, code);
        Assert.Equal("", address);

        await using var server = await TestServer.StartAsync(o => o.DisabledCommands = ["AUTH"]);
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<>");
        Assert.Equal(501, (await client.CommandAsync("RCPT TO:<>")).Code);
    }

    [Fact]
    public async Task Command_shape_rules()
    {
        // NOTIFY is DSN's: advertised, so that it is supported (555 otherwise).
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.HideDsn = false;
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(501, (await client.CommandAsync("MAIL  FROM:<a@b.c>")).Code);
        Assert.Equal(501, (await client.CommandAsync("MAIL TO:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM : <a@b.c>")).Code);
        Assert.Equal(501, (await client.CommandAsync("RCPT FROM:<a@b.c>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<a@b.c>\tNOTIFY=NEVER")).Code);
    }
}
