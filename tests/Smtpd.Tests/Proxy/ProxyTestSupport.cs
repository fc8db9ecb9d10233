using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Numerics;
using System.Text;

namespace Smtpd.Tests.Proxy;

/// <summary>What a handler saw of the session at one moment.</summary>
public sealed record SessionSnapshot(
    IPAddress RemoteAddress,
    int RemotePort,
    IPAddress LocalAddress,
    int LocalPort,
    string ClientHostname,
    string? HostNameAppearsAs,
    string TransmissionType,
    SmtpProxyHeader? ProxyHeader,
    IReadOnlyDictionary<string, string?> XClient,
    IReadOnlyDictionary<string, string?> XForward,
    object? User)
{
    public static SessionSnapshot Of(SmtpSession session) => new(
        session.RemoteAddress, session.RemotePort, session.LocalAddress, session.LocalPort, session.ClientHostname,
        session.HostNameAppearsAs, session.TransmissionType, session.ProxyHeader,
        new Dictionary<string, string?>(session.XClient, StringComparer.OrdinalIgnoreCase),
        new Dictionary<string, string?>(session.XForward, StringComparer.OrdinalIgnoreCase),
        session.User);
}

/// <summary>Records the session as the connect, MAIL FROM, DATA and close handlers see it.</summary>
public sealed class SessionRecorder
{
    public ConcurrentQueue<SessionSnapshot> Connects { get; } = new();

    public ConcurrentQueue<SessionSnapshot> MailFroms { get; } = new();

    public ConcurrentQueue<SessionSnapshot> Datas { get; } = new();

    public ConcurrentQueue<SessionSnapshot> Closes { get; } = new();

    private readonly TaskCompletionSource<SessionSnapshot> _firstData = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly TaskCompletionSource<SessionSnapshot> _firstClose = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<SessionSnapshot> FirstData => _firstData.Task;

    public Task<SessionSnapshot> FirstClose => _firstClose.Task;

    /// <summary>Installs the recording handlers (and AUTH off, so MAIL works without credentials).</summary>
    public void Attach(SmtpServerOptions options)
    {
        options.DisabledCommands = ["AUTH"];
        options.OnConnect = (session, _) =>
        {
            Connects.Enqueue(SessionSnapshot.Of(session));
            return default;
        };
        options.OnMailFrom = (_, session, _) =>
        {
            MailFroms.Enqueue(SessionSnapshot.Of(session));
            return default;
        };
        options.OnData = async (stream, session, ct) =>
        {
            await stream.CopyToAsync(Stream.Null, ct);
            SessionSnapshot snapshot = SessionSnapshot.Of(session);
            Datas.Enqueue(snapshot);
            _firstData.TrySetResult(snapshot);
            return SmtpResult.Accept();
        };
        options.OnClose = (session, _) =>
        {
            SessionSnapshot snapshot = SessionSnapshot.Of(session);
            Closes.Enqueue(snapshot);
            _firstClose.TrySetResult(snapshot);
            return default;
        };
    }
}

/// <summary>Builds PROXY protocol version 2 headers byte by byte, valid or deliberately broken.</summary>
public sealed class ProxyV2Builder
{
    public static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private readonly List<byte> _addresses = [];
    private readonly List<byte> _tlvs = [];

    public byte VersionCommand { get; set; } = 0x21;

    public byte Family { get; set; }

    /// <summary>When set, written as the length field instead of the real length.</summary>
    public int? LengthOverride { get; set; }

    public static ProxyV2Builder Tcp4(string source, int sourcePort, string destination, int destinationPort)
    {
        var builder = new ProxyV2Builder { Family = 0x11 };
        builder._addresses.AddRange(IPAddress.Parse(source).GetAddressBytes());
        builder._addresses.AddRange(IPAddress.Parse(destination).GetAddressBytes());
        builder.AddPort(sourcePort).AddPort(destinationPort);
        return builder;
    }

    public static ProxyV2Builder Tcp6(string source, int sourcePort, string destination, int destinationPort)
    {
        var builder = new ProxyV2Builder { Family = 0x21 };
        builder._addresses.AddRange(IPAddress.Parse(source).GetAddressBytes());
        builder._addresses.AddRange(IPAddress.Parse(destination).GetAddressBytes());
        builder.AddPort(sourcePort).AddPort(destinationPort);
        return builder;
    }

    public static ProxyV2Builder Local() => new() { VersionCommand = 0x20, Family = 0x00 };

    public ProxyV2Builder Raw(params byte[] bytes)
    {
        _addresses.AddRange(bytes);
        return this;
    }

    public ProxyV2Builder Tlv(byte type, byte[] value)
    {
        _tlvs.Add(type);
        _tlvs.Add((byte)(value.Length >> 8));
        _tlvs.Add((byte)value.Length);
        _tlvs.AddRange(value);
        return this;
    }

    public ProxyV2Builder Tlv(byte type, string value) => Tlv(type, Encoding.UTF8.GetBytes(value));

    /// <summary>An SSL TLV: client flags, verify result, then sub-TLVs (type, text).</summary>
    public ProxyV2Builder Ssl(byte client, uint verify, params (byte Type, string Value)[] subTlvs)
    {
        var value = new List<byte> { client };
        var verifyBytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(verifyBytes, verify);
        value.AddRange(verifyBytes);
        foreach ((byte type, string text) in subTlvs)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            value.Add(type);
            value.Add((byte)(bytes.Length >> 8));
            value.Add((byte)bytes.Length);
            value.AddRange(bytes);
        }

        return Tlv(0x20, [.. value]);
    }

    /// <summary>Adds a CRC32C TLV computed over the finished header (or a wrong one).</summary>
    public byte[] BuildWithCrc(bool correct = true)
    {
        Tlv(0x03, new byte[4]);
        byte[] header = Build();
        uint crc = 0xFFFFFFFF;
        foreach (byte b in header)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        crc = ~crc;
        if (!correct)
        {
            crc ^= 0x1;
        }

        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(header.Length - 4), crc);
        return header;
    }

    public byte[] Build()
    {
        int length = _addresses.Count + _tlvs.Count;
        var header = new List<byte>(Signature) { VersionCommand, Family };
        int written = LengthOverride ?? length;
        header.Add((byte)(written >> 8));
        header.Add((byte)written);
        header.AddRange(_addresses);
        header.AddRange(_tlvs);
        return [.. header];
    }

    private ProxyV2Builder AddPort(int port)
    {
        _addresses.Add((byte)(port >> 8));
        _addresses.Add((byte)port);
        return this;
    }
}

public static class ProxyTest
{
    /// <summary>The reference's diagnostic line for a bad PROXY header.</summary>
    public const string BadHeader = "* BAD Invalid PROXY header";

    /// <summary>Waits until <paramref name="condition"/> holds (bounded), for state the server updates asynchronously.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Condition not reached in time.");
            }

            await Task.Delay(10);
        }
    }
}
