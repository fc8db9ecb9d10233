using System.Net;
using System.Text;

namespace Smtpd.Tests.Proxy;

public class ProxyProtocolV2Tests
{
    private static async Task<(TestServer Server, SessionRecorder Recorder)> StartAsync(Action<SmtpServerOptions>? configure = null)
    {
        var recorder = new SessionRecorder();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseProxy = true;
            configure?.Invoke(o);
        });
        return (server, recorder);
    }

    private static async Task<SessionSnapshot> AcceptedAsync(TestServer server, SessionRecorder recorder, byte[] header)
    {
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendBytesAsync(header);
        Assert.Equal("220 mx.test ESMTP", (await client.ReadReplyAsync()).Line);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        return Assert.Single(recorder.Connects);
    }

    private static async Task RefusedAsync(TestServer server, SessionRecorder recorder, byte[] header)
    {
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendBytesAsync(header);
        Assert.Equal(ProxyTest.BadHeader + "\n", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(recorder.Connects);
    }

    [Fact]
    public async Task Tcp4_header_becomes_the_remote_endpoint()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        SessionSnapshot session = await AcceptedAsync(server, recorder, ProxyV2Builder.Tcp4("198.51.100.22", 35646, "203.0.113.7", 25).Build());
        Assert.Equal(IPAddress.Parse("198.51.100.22"), session.RemoteAddress);
        Assert.Equal(35646, session.RemotePort);
        Assert.Equal(IPAddress.Loopback, session.LocalAddress);
        Assert.Equal(server.Port, session.LocalPort);
        Assert.Equal(2, session.ProxyHeader!.Version);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 25), session.ProxyHeader.Destination);
        Assert.Empty(session.ProxyHeader.Tlvs);
    }

    [Fact]
    public async Task Tcp6_header_becomes_the_remote_endpoint()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        SessionSnapshot session = await AcceptedAsync(server, recorder, ProxyV2Builder.Tcp6("2001:db8::42", 50000, "2001:db8::25", 25).Build());
        Assert.Equal(IPAddress.Parse("2001:db8::42"), session.RemoteAddress);
        Assert.Equal(50000, session.RemotePort);
        Assert.Equal("[2001:db8::42]", session.ClientHostname);
    }

    [Fact]
    public async Task Tcp6_header_with_an_IPv4_mapped_client_gives_IPv4()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        SessionSnapshot session = await AcceptedAsync(server, recorder, ProxyV2Builder.Tcp6("::ffff:192.0.2.33", 1, "::1", 25).Build());
        Assert.Equal(IPAddress.Parse("192.0.2.33"), session.RemoteAddress);
    }

    [Fact]
    public async Task Local_command_keeps_the_socket_peer()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        SessionSnapshot session = await AcceptedAsync(server, recorder, ProxyV2Builder.Local().Build());
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Null(session.ProxyHeader!.Source);
    }

    [Fact]
    public async Task Local_command_discards_its_address_block()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        var header = ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25);
        header.VersionCommand = 0x20;
        SessionSnapshot session = await AcceptedAsync(server, recorder, header.Build());
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
    }

    [Fact]
    public async Task Unspec_family_keeps_the_socket_peer()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        SessionSnapshot session = await AcceptedAsync(server, recorder, new ProxyV2Builder { Family = 0x00 }.Build());
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Null(session.ProxyHeader!.Source);
    }

    [Fact]
    public async Task Unix_family_keeps_the_socket_peer()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        SessionSnapshot session = await AcceptedAsync(server, recorder, new ProxyV2Builder { Family = 0x31 }.Raw(new byte[216]).Build());
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
    }

    [Fact]
    public async Task Known_TLVs_are_exposed_and_unknown_ones_kept()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        byte[] header = ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25)
            .Tlv(0x04, new byte[3])
            .Tlv(0x01, "smtp")
            .Tlv(0x02, "mail.example.com")
            .Tlv(0x05, "conn-42")
            .Tlv(0x30, "blue")
            .Ssl(0x07, 0, (0x21, "TLSv1.3"), (0x22, "client.example.com"), (0x23, "TLS_AES_256_GCM_SHA384"), (0x24, "SHA256"), (0x25, "RSA2048"), (0x2F, "ignored"))
            .Tlv(0xE0, [1, 2, 3])
            .Build();
        SmtpProxyHeader proxy = (await AcceptedAsync(server, recorder, header)).ProxyHeader!;
        Assert.Equal("smtp", proxy.Alpn);
        Assert.Equal("mail.example.com", proxy.Authority);
        Assert.Equal("conn-42"u8.ToArray(), proxy.UniqueId.ToArray());
        Assert.Equal("blue", proxy.NetworkNamespace);
        SmtpProxySsl ssl = proxy.Ssl!;
        Assert.True(ssl.IsTls);
        Assert.True(ssl.HasClientCertificate);
        Assert.True(ssl.IsClientCertificateVerified);
        Assert.Equal("TLSv1.3", ssl.Version);
        Assert.Equal("client.example.com", ssl.CommonName);
        Assert.Equal("TLS_AES_256_GCM_SHA384", ssl.Cipher);
        Assert.Equal("SHA256", ssl.SignatureAlgorithm);
        Assert.Equal("RSA2048", ssl.KeyAlgorithm);
        Assert.False(proxy.IsChecksumVerified);
        Assert.Equal([0x04, 0x01, 0x02, 0x05, 0x30, 0x20, 0xE0], proxy.Tlvs.Select(t => t.Type));
        Assert.Equal([1, 2, 3], proxy.Tlvs[^1].Value.ToArray());
    }

    [Fact]
    public async Task Ssl_TLV_with_a_failed_certificate_check_says_so()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        byte[] header = ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25).Ssl(0x03, 20).Build();
        SmtpProxySsl ssl = (await AcceptedAsync(server, recorder, header)).ProxyHeader!.Ssl!;
        Assert.True(ssl.HasClientCertificate);
        Assert.False(ssl.IsClientCertificateVerified);
        Assert.Equal(20u, ssl.VerifyResult);
    }

    [Fact]
    public async Task Correct_CRC32C_is_verified()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        byte[] header = ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25).Tlv(0x02, "mx.example").BuildWithCrc();
        SmtpProxyHeader proxy = (await AcceptedAsync(server, recorder, header)).ProxyHeader!;
        Assert.True(proxy.IsChecksumVerified);
        Assert.Equal("mx.example", proxy.Authority);
    }

    [Fact]
    public async Task Wrong_CRC32C_is_refused()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await RefusedAsync(server, recorder, ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25).BuildWithCrc(correct: false));
    }

    public static TheoryData<string, byte[]> MalformedHeaders() => new()
    {
        { "version 1 nibble", new ProxyV2Builder { VersionCommand = 0x11 }.Build() },
        { "version 3 nibble", new ProxyV2Builder { VersionCommand = 0x31 }.Build() },
        { "unknown command", new ProxyV2Builder { VersionCommand = 0x22 }.Build() },
        { "UDP over IPv4", new ProxyV2Builder { Family = 0x12 }.Raw(new byte[12]).Build() },
        { "UDP over IPv6", new ProxyV2Builder { Family = 0x22 }.Raw(new byte[36]).Build() },
        { "unknown family", new ProxyV2Builder { Family = 0x41 }.Build() },
        { "truncated IPv4 block", new ProxyV2Builder { Family = 0x11 }.Raw(new byte[11]).Build() },
        { "truncated IPv6 block", new ProxyV2Builder { Family = 0x21 }.Raw(new byte[35]).Build() },
        { "truncated UNIX block", new ProxyV2Builder { Family = 0x31 }.Raw(new byte[100]).Build() },
        { "TLV longer than the header", ProxyV2Builder.Tcp4("192.0.2.1", 1, "192.0.2.2", 25).Raw(0xE0, 0x00, 0x09, 1, 2).Build() },
        { "trailing bytes", ProxyV2Builder.Tcp4("192.0.2.1", 1, "192.0.2.2", 25).Raw(0xE0, 0x00).Build() },
        { "CRC32C of 3 bytes", ProxyV2Builder.Tcp4("192.0.2.1", 1, "192.0.2.2", 25).Tlv(0x03, new byte[3]).Build() },
        { "broken signature", [.. ProxyV2Builder.Signature[..6], (byte)'X', .. ProxyV2Builder.Signature[7..], 0x21, 0x00, 0x00, 0x00] },
    };

    /// <summary>Informational TLVs the server cannot interpret: kept in <see cref="SmtpProxyHeader.Tlvs"/>, never a reason to drop the client.</summary>
    public static TheoryData<string, byte, byte[]> UninterpretableTlvs => new()
    {
        { "binary unique id", 0x05, [0x00, 0xFF, 0x0D, 0x0A, 0x80, 0x7F, 0x01] },
        { "unique id over 128 bytes", 0x05, Encoding.ASCII.GetBytes(new string('u', 129)) },
        { "ALPN not UTF-8", 0x01, [0xC3, 0x28] },
        { "authority not UTF-8", 0x02, [0xC3, 0x28] },
        { "authority with control characters", 0x02, Encoding.ASCII.GetBytes("a\r\nb") },
        { "network namespace with control characters", 0x30, [0x01, 0x02] },
        { "SSL TLV too short", 0x20, new byte[4] },
        { "SSL sub-TLV overrun", 0x20, [0x01, 0, 0, 0, 0, 0x21, 0x00, 0x05, (byte)'T'] },
        { "SSL version not text", 0x20, [0x01, 0, 0, 0, 0, 0x21, 0x00, 0x02, 0xC3, 0x28] },
    };

    [Theory]
    [MemberData(nameof(UninterpretableTlvs))]
    public async Task An_informational_TLV_that_cannot_be_interpreted_never_costs_the_connection(string description, byte type, byte[] value)
    {
        // Issue 11, bug 10: a binary PP2_TYPE_UNIQUE_ID (an opaque byte string of up to 128 bytes in HAProxy's spec)
        // was refused as "not text" and the connection dropped.
        Assert.NotEmpty(description);
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        byte[] header = ProxyV2Builder.Tcp4("198.51.100.22", 1, "203.0.113.7", 25).Tlv(type, value).Build();
        SmtpProxyHeader proxy = (await AcceptedAsync(server, recorder, header)).ProxyHeader!;
        Assert.Equal(IPAddress.Parse("198.51.100.22"), proxy.Source!.Address);
        Assert.Equal(value, Assert.Single(proxy.Tlvs).Value.ToArray());
        if (type == 0x05)
        {
            Assert.Equal(value.Length <= 128 ? value : [], proxy.UniqueId.ToArray());
        }
        else
        {
            Assert.True(proxy.Alpn is null && proxy.Authority is null && proxy.NetworkNamespace is null);
            Assert.True(proxy.Ssl is null || proxy.Ssl.Version is null, "a sub-field that is not text is left unset");
        }
    }

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public async Task Malformed_header_gets_the_reference_diagnostic_and_no_session(string description, byte[] header)
    {
        Assert.NotEmpty(description);
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await RefusedAsync(server, recorder, header);
    }

    [Fact]
    public async Task Header_announcing_more_than_the_cap_is_refused_without_reading_it()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await RefusedAsync(server, recorder, new ProxyV2Builder { Family = 0x00, LengthOverride = 65535 }.Build());
    }

    [Fact]
    public async Task Header_up_to_the_cap_is_accepted()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        // 16 + 12 addresses + 3 TLV header + value = 4096.
        byte[] header = ProxyV2Builder.Tcp4("192.0.2.1", 1, "192.0.2.2", 25).Tlv(0x04, new byte[4096 - 16 - 12 - 3]).Build();
        Assert.Equal(4096, header.Length);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), (await AcceptedAsync(server, recorder, header)).RemoteAddress);
    }

    [Fact]
    public async Task Header_one_byte_over_the_cap_is_refused()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        byte[] header = ProxyV2Builder.Tcp4("192.0.2.1", 1, "192.0.2.2", 25).Tlv(0x04, new byte[4097 - 16 - 12 - 3]).Build();
        await RefusedAsync(server, recorder, header);
    }

    [Fact]
    public async Task Commands_in_the_same_segment_as_the_header_are_not_lost()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        byte[] header = ProxyV2Builder.Tcp4("192.0.2.1", 1000, "192.0.2.2", 25).Tlv(0x02, "x.example").Build();
        await client.SendBytesAsync([.. header, .. Encoding.ASCII.GetBytes("EHLO a.example\r\nMAIL FROM:<a@b.c>\r\n")]);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 Accepted", (await client.ReadReplyAsync()).Line);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), Assert.Single(recorder.MailFroms).RemoteAddress);
    }

    [Fact]
    public async Task Header_sent_in_small_pieces_is_assembled()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync();
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        byte[] header = ProxyV2Builder.Tcp6("2001:db8::7", 7, "2001:db8::25", 25).Tlv(0x02, "x.example").Build();
        for (int i = 0; i < header.Length; i += 5)
        {
            await client.SendBytesAsync(header[i..Math.Min(header.Length, i + 5)]);
            await Task.Delay(2);
        }

        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(IPAddress.Parse("2001:db8::7"), Assert.Single(recorder.Connects).RemoteAddress);
    }

    [Fact]
    public async Task Truncated_header_then_silence_is_dropped_after_the_socket_timeout()
    {
        (TestServer server, SessionRecorder recorder) = await StartAsync(o => o.SocketTimeout = TimeSpan.FromMilliseconds(300));
        await using var _ = server;
        await using var client = await server.ConnectAsync(readGreeting: false);
        byte[] header = ProxyV2Builder.Tcp4("192.0.2.1", 1, "192.0.2.2", 25).Build();
        await client.SendBytesAsync(header[..20]);
        Assert.Equal("", await client.ReadToEndAsync(TimeSpan.FromSeconds(3)));
        Assert.Empty(recorder.Connects);
    }
}
