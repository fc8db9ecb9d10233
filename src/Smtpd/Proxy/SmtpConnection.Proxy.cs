using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Smtpd;

/// <summary>The proxy features of a connection: the PROXY header, ignored hosts, XCLIENT and XFORWARD.</summary>
internal sealed partial class SmtpConnection
{
    private const string BadAttributeSyntax = "Error: Bad command parameter syntax";
    private static readonly byte[] InvalidProxyHeaderReply = "* BAD Invalid PROXY header\r\n"u8.ToArray();
    private static readonly string[] XClientKeys = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN"];
    private static readonly string[] XForwardKeys = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"];

    private bool _ignored;
    private volatile bool _inPendingProxyHeader;
    private bool _xClientTrusted;
    private bool _xForwardTrusted;
    private bool _xClientAddressApplied;
    private IPAddress _peerAddress = IPAddress.None;

    /// <summary>The client is one of <see cref="SmtpServerOptions.IgnoredHosts"/>: nothing is logged and no connection handler runs.</summary>
    private bool IsIgnored => _ignored;

    /// <summary>EHLO lists XCLIENT: the peer is trusted and no XCLIENT ADDR was accepted yet.</summary>
    private bool IsXClientAdvertised => _xClientTrusted && !_xClientAddressApplied;

    /// <summary>EHLO lists XFORWARD: the peer is trusted and no XCLIENT ADDR was accepted yet.</summary>
    private bool IsXForwardAdvertised => _xForwardTrusted && !_xClientAddressApplied;

    /// <summary>
    /// First thing on a connection: when the peer must send a PROXY header, reads exactly its bytes from the socket (so
    /// nothing after it is buffered anywhere but in the kernel) and applies it (sockets only: a stream handed over with
    /// <see cref="SmtpServer.HandleStreamAsync"/> has no header); then decides, from the client address,
    /// whether the connection is ignored and whether XCLIENT/XFORWARD are trusted. <see langword="false"/> drops it.
    /// </summary>
    private async ValueTask<bool> ReadProxyHeaderAsync()
    {
        ProxyPolicy policy = _options.Proxy;
        SetIgnored(policy.IgnoredHosts.Contains(Session.RemoteAddress));
        if (_socket is not null && policy.ProxyPeers.Contains(Session.RemoteAddress)
            && !await ReceiveProxyHeaderAsync(_socket))
        {
            return false;
        }

        // From here on the client is the one the proxy announced (or the direct peer).
        IPAddress client = Session.RemoteAddress;
        _peerAddress = client;
        SetIgnored(policy.IgnoredHosts.Contains(client));
        _xClientTrusted = policy.XClientPeers.Contains(client);
        _xForwardTrusted = policy.XForwardPeers.Contains(client);
        if (Session.ProxyHeader is { } header && _logger.IsEnabled(LogLevel.Information))
        {
            ProxyLog.Header(_logger, Session.Id, header.Version, header.Source?.ToString() ?? "(not announced)", header.ProxyAddress, header.ProxyPort,
                header.Destination?.ToString() ?? "(not announced)");
        }

        return true;
    }

    /// <summary>From <see cref="SmtpServer.CloseAsync(CancellationToken)"/>: drops the connection if it still waits for its PROXY header.</summary>
    public void AbortPendingProxyHeader()
    {
        if (_inPendingProxyHeader)
        {
            Abort();
        }
    }

    private void SetIgnored(bool ignored)
    {
        _ignored = ignored;
        _logger = ignored ? NullLogger.Instance : _server.Logger;
    }

    private async ValueTask<bool> ReceiveProxyHeaderAsync(Socket socket)
    {
        IPAddress proxyAddress = Session.RemoteAddress;
        int proxyPort = Session.RemotePort;
        _inPendingProxyHeader = true;
        if (!_server.TryBeginPendingProxyHeader())
        {
            _inPendingProxyHeader = false;
            CountRefusal("max_clients");
            ProxyLog.Dropped(_logger, Session.Id, proxyAddress, _server.IsClosing ? "the server is closing" : "too many connections are waiting for their PROXY header");
            return false;
        }

        const int maxLine = ProxyHeaderParser.MaxVersion1Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(maxLine);
        byte[]? large = null;
        try
        {
            Arm(SocketTimeoutMs, PhaseAbort);
            string? invalid = null;
            SmtpProxyHeader? header = null;

            // Peek, so that the bytes after a version 1 line stay in the socket for the session (or for TLS).
            int peeked = await socket.ReceiveAsync(buffer.AsMemory(0, maxLine), SocketFlags.Peek, AbortToken);
            if (peeked == 0)
            {
                ProxyLog.ClosedBeforeHeader(_logger, Session.Id, proxyAddress, "before");
                return false;
            }

            switch (ProxyHeaderParser.Classify(buffer.AsSpan(0, peeked)))
            {
                case ProxyHeaderKind.Version2:
                    // A version 2 header says its own length: read exactly that, no peeking needed.
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, ProxyHeaderParser.Version2FixedLength), AbortToken);

                    int length = ProxyHeaderParser.Version2Length(buffer);
                    if (ProxyHeaderParser.Classify(buffer.AsSpan(0, ProxyHeaderParser.Version2FixedLength)) != ProxyHeaderKind.Version2)
                    {
                        invalid = "not a PROXY header";
                        break;
                    }

                    if (length > ProxyHeaderParser.MaxVersion2Length)
                    {
                        invalid = $"a version 2 header of {length} bytes exceeds {ProxyHeaderParser.MaxVersion2Length}";
                        break;
                    }

                    byte[] target = buffer;
                    if (length > buffer.Length)
                    {
                        large = ArrayPool<byte>.Shared.Rent(length);
                        buffer.AsSpan(0, ProxyHeaderParser.Version2FixedLength).CopyTo(large);
                        target = large;
                    }

                    await _stream.ReadExactlyAsync(target.AsMemory(ProxyHeaderParser.Version2FixedLength, length - ProxyHeaderParser.Version2FixedLength), AbortToken);

                    if (!ProxyHeaderParser.TryParseVersion2(target.AsSpan(0, length), proxyAddress, proxyPort, out header, out string reason2))
                    {
                        invalid = reason2;
                    }

                    break;

                case ProxyHeaderKind.Version1:
                    int consumed = 0;
                    while (true)
                    {
                        int lf = buffer.AsSpan(consumed, peeked).IndexOf((byte)'\n');
                        if (lf >= 0)
                        {
                            // Take the line, and not one byte more.
                            await _stream.ReadExactlyAsync(buffer.AsMemory(consumed, lf + 1), AbortToken);

                            if (!ProxyHeaderParser.TryParseVersion1(buffer.AsSpan(0, consumed + lf + 1), proxyAddress, proxyPort, out header, out string reason1))
                            {
                                invalid = reason1;
                            }

                            break;
                        }

                        if (ProxyHeaderParser.Classify(buffer.AsSpan(0, consumed + peeked)) != ProxyHeaderKind.Version1)
                        {
                            invalid = "not a PROXY header";
                            break;
                        }

                        if (consumed + peeked >= maxLine)
                        {
                            invalid = $"no line end within {maxLine} bytes";
                            break;
                        }

                        // No line end yet: these bytes are all header, so take them and wait for more.
                        await _stream.ReadExactlyAsync(buffer.AsMemory(consumed, peeked), AbortToken);

                        consumed += peeked;
                        peeked = await socket.ReceiveAsync(buffer.AsMemory(consumed, maxLine - consumed), SocketFlags.Peek, AbortToken);
                        if (peeked == 0)
                        {
                            ProxyLog.ClosedBeforeHeader(_logger, Session.Id, proxyAddress, "inside");
                            return false;
                        }
                    }

                    break;

                default:
                    invalid = "not a PROXY header";
                    break;
            }

            if (invalid is not null)
            {
                CountRefusal("proxy_header");
                await RefuseProxyHeaderAsync(socket, proxyAddress, invalid, buffer);
                return false;
            }

            Session.ProxyHeader = header;
            if (header!.Source is { } source)
            {
                Session.RemoteAddress = source.Address;
                Session.RemotePort = source.Port;
            }

            return true;
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            if (_timedOut)
            {
                CountRefusal("proxy_header");
                ProxyLog.Dropped(_logger, Session.Id, proxyAddress, $"no complete PROXY header within {SocketTimeoutMs} ms");
            }
            else if (_server.IsClosing)
            {
                ProxyLog.Dropped(_logger, Session.Id, proxyAddress, "the server is closing");
            }
            else
            {
                // The peer closed or reset the connection inside the header.
                ProxyLog.ClosedBeforeHeader(_logger, Session.Id, proxyAddress, "inside");
            }

            return false;
        }
        finally
        {
            Disarm();
            _inPendingProxyHeader = false;
            _server.EndPendingProxyHeader();
            ArrayPool<byte>.Shared.Return(buffer);
            if (large is not null)
            {
                ArrayPool<byte>.Shared.Return(large);
            }
        }
    }

    private void CountRefusal(string reason)
    {
        if (!_ignored)
        {
            _metrics.ConnectionRefused(reason);
        }
    }

    /// <summary>The reference's diagnostic, then a half-close; whatever the peer still sends is read away for at most a second.</summary>
    private async ValueTask RefuseProxyHeaderAsync(Socket socket, IPAddress proxyAddress, string reason, byte[] scratch)
    {
        ProxyLog.InvalidHeader(_logger, Session.Id, proxyAddress, reason);
        Arm(Math.Min(SocketTimeoutMs, 1000), PhaseAbort);
        try
        {
            await socket.SendAsync(InvalidProxyHeaderReply, SocketFlags.None, AbortToken);
            socket.Shutdown(SocketShutdown.Send);
            while (await socket.ReceiveAsync(scratch, SocketFlags.None, AbortToken) > 0)
            {
                // Discarded.
            }
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // Gone or out of time: the socket is closed either way.
        }
    }

    /// <summary>Postfix XCLIENT (§13.2): a trusted front end overrides what the session knows about the client.</summary>
    private ValueTask<Outcome> XClientAsync(ReadOnlySpan<byte> arguments)
    {
        if (!_xClientTrusted || _xClientAddressApplied)
        {
            return Reply(550, "5.7.0", "Error: Not allowed");
        }

        if (Session.Envelope.MailFrom is not null)
        {
            return Reply(503, "5.5.1", "Error: Mail transaction in progress");
        }

        // Everything is validated before anything is applied.
        if (!TryParseProxyAttributes(arguments, XClientKeys, tempUnavailableToo: true, out List<KeyValuePair<string, string?>>? attributes, out string? error))
        {
            return Reply(501, "5.5.4", error);
        }

        Dictionary<string, string?> map = Session.XClientAttributes;
        bool hasAddress = TryGetAttribute(attributes, "ADDR", out string? address);
        bool hasName = TryGetAttribute(attributes, "NAME", out string? name);
        bool hasPort = TryGetAttribute(attributes, "PORT", out string? port);
        if (hasAddress)
        {
            map.TryAdd("ADDR:DEFAULT", Session.RemoteAddress.ToString());
        }

        if (hasName)
        {
            map.TryAdd("NAME:DEFAULT", Session.ClientHostname);
        }

        if (hasPort)
        {
            map.TryAdd("PORT:DEFAULT", Session.RemotePort.ToString(CultureInfo.InvariantCulture));
        }

        if (hasAddress)
        {
            if (address is not null)
            {
                ApplyClientAddress(address);
            }

            // A new client: it must greet again, and it is not the one that may have authenticated.
            Session.HostNameAppearsAs = null;
            Session.User = null;
            _xClientAddressApplied = true;
        }

        if (hasPort)
        {
            Session.RemotePort = ParseAttributePort(port);
        }

        if (hasName)
        {
            ApplyClientName(name);
        }

        RecordAttributes(map, attributes);

        if (_logger.IsEnabled(LogLevel.Information))
        {
            ProxyLog.XClient(_logger, Session.Id, _peerAddress, DescribeAttributes(attributes));
        }

        if (TryGetAttribute(attributes, "LOGIN", out string? login) && login is not null)
        {
            if (login.Length > 0)
            {
                // The AUTH handler decides, seeing the session with the new attributes.
                return CompleteXClientLoginAsync(login);
            }

            // LOGIN= (empty) logs the client out; [UNAVAILABLE] leaves the login as it is.
            Session.User = null;
        }

        return new(FinishXClient());
    }

    /// <summary>
    /// <c>XCLIENT LOGIN=name</c>: the AUTH handler is asked with method <c>XCLIENT</c> and no secret. Accepted: the client
    /// is that user. The default handler's "no decision": it stays as it is. Refused: <c>550</c> with the handler's text
    /// (default <c>Authentication credentials invalid</c>), or the handler's own 4xx for a temporary failure, then close.
    /// </summary>
    private async ValueTask<Outcome> CompleteXClientLoginAsync(string login)
    {
        SmtpAuthResult result = await AuthenticateForXClientAsync(login);
        if (result.IsSuccess)
        {
            Session.User = result.User;
            _metrics.AuthAttempt(SmtpAuthMethods.XClient, success: true);
            SmtpLog.AuthSucceeded(_logger, Session.Id, Session.RemoteAddress, login, SmtpAuthMethods.XClient);
        }
        else if (!result.IsUnhandled)
        {
            bool temporary = result.Code is >= 400 and < 500;
            int code = temporary ? result.Code : 550;
            string? enhanced = result.EnhancedCode is { } given && EnhancedStatusCode.IsValid(given, code) ? given : temporary ? null : "5.7.8";
            _metrics.AuthAttempt(SmtpAuthMethods.XClient, success: false);
            ProxyLog.XClientLoginRefused(_logger, Session.Id, login, code);
            WriteResult(SmtpResult.Reject(code, result.Message ?? "Authentication credentials invalid", enhanced));
            return Outcome.Close;
        }

        return FinishXClient();
    }

    /// <summary>XCLIENT/XFORWARD <c>ADDR</c>: the client's address, and its bracketed form as host name until a NAME says otherwise.</summary>
    private void ApplyClientAddress(string address)
    {
        Session.RemoteAddress = IpText.Normalize(IPAddress.Parse(address));
        Session.ClientHostname = BracketedRemoteAddress;
    }

    /// <summary>XCLIENT/XFORWARD <c>NAME</c>: the host name, or the bracketed address when it is unavailable or empty.</summary>
    private void ApplyClientName(string? name) =>
        Session.ClientHostname = string.IsNullOrEmpty(name) ? BracketedRemoteAddress : HostnameRules.Normalize(name)!;

    /// <summary>The attributes as the session shows them (a later command overwrites earlier values).</summary>
    private static void RecordAttributes(Dictionary<string, string?> map, List<KeyValuePair<string, string?>> attributes)
    {
        foreach (KeyValuePair<string, string?> attribute in attributes)
        {
            map[attribute.Key] = attribute.Value;
        }
    }

    /// <summary>After XCLIENT: a fresh session and the full greeting (never an enhanced code).</summary>
    private Outcome FinishXClient()
    {
        ResetSession();
        Write(_replies.Greeting);
        return Outcome.Continue;
    }

    /// <summary>Postfix XFORWARD (§13.3): a trusted peer forwards what it knows about the original client.</summary>
    private ValueTask<Outcome> XForward(ReadOnlySpan<byte> arguments)
    {
        if (!_xForwardTrusted || _xClientAddressApplied)
        {
            return Reply(550, "5.7.0", "Error: Not allowed");
        }

        if (Session.Envelope.MailFrom is not null)
        {
            return Reply(503, "5.5.1", "Error: Mail transaction in progress");
        }

        if (!TryParseProxyAttributes(arguments, XForwardKeys, tempUnavailableToo: false, out List<KeyValuePair<string, string?>>? attributes, out string? error))
        {
            return Reply(501, "5.5.4", error);
        }

        Dictionary<string, string?> map = Session.XForwardAttributes;
        if (TryGetAttribute(attributes, "ADDR", out string? address) && address is not null)
        {
            map.TryAdd("ADDR:DEFAULT", Session.RemoteAddress.ToString());
            ApplyClientAddress(address);
        }

        if (TryGetAttribute(attributes, "PORT", out string? port))
        {
            Session.RemotePort = ParseAttributePort(port);
        }

        if (TryGetAttribute(attributes, "NAME", out string? name))
        {
            ApplyClientName(name);
        }

        if (TryGetAttribute(attributes, "HELO", out string? helo) && !string.IsNullOrEmpty(helo))
        {
            // As the reference: the forwarded HELO name counts as a greeting, so MAIL may follow without EHLO.
            Session.HostNameAppearsAs = helo.ToLowerInvariant();
        }

        RecordAttributes(map, attributes);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            ProxyLog.XForward(_logger, Session.Id, _peerAddress, DescribeAttributes(attributes));
        }

        ResetSession();
        return Reply(_replies.Ok);
    }

    /// <summary>
    /// Splits <c>KEY=VALUE</c> attributes (runs of spaces or tabs between them), checks every one, and decodes the
    /// xtext values; <c>[UNAVAILABLE]</c> (and for XCLIENT <c>[TEMPUNAVAIL]</c>) become <see langword="null"/>. A
    /// repeated key keeps its first value. <c>ADDR</c> must be an IP address (optional <c>IPv6:</c> prefix; stored in
    /// canonical form), <c>NAME</c> a host name.
    /// </summary>
    private static bool TryParseProxyAttributes(ReadOnlySpan<byte> arguments, string[] keys, bool tempUnavailableToo,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out List<KeyValuePair<string, string?>>? attributes,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        attributes = null;
        error = BadAttributeSyntax;
        string[] parts = Encoding.UTF8.GetString(arguments).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return false;
        }

        var result = new List<KeyValuePair<string, string?>>(parts.Length);
        foreach (string part in parts)
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || part.IndexOf('=', equals + 1) >= 0)
            {
                return false;
            }

            string key = part[..equals].ToUpperInvariant();
            if (Array.IndexOf(keys, key) < 0)
            {
                return false;
            }

            string? value = XText.Decode(part[(equals + 1)..]);
            if (XText.HasControl(value))
            {
                return false;
            }

            if (string.Equals(value, "[UNAVAILABLE]", StringComparison.OrdinalIgnoreCase)
                || (tempUnavailableToo && string.Equals(value, "[TEMPUNAVAIL]", StringComparison.OrdinalIgnoreCase)))
            {
                value = null;
            }

            if (TryGetAttribute(result, key, out _))
            {
                continue;
            }

            if (key == "ADDR" && value is not null)
            {
                if (value.Length == 0)
                {
                    // Nothing announced: treated as unavailable.
                    value = null;
                }
                else
                {
                    string literal = value.StartsWith("IPV6:", StringComparison.OrdinalIgnoreCase) ? value[5..] : value;
                    string? canonical = IpText.IsStrictIPv4(literal) ? literal : IpText.CanonicalIPv6(literal);
                    if (canonical is null)
                    {
                        error = BadAttributeSyntax + ". Invalid address";
                        return false;
                    }

                    value = canonical;
                }
            }
            else if (key == "NAME" && !string.IsNullOrEmpty(value) && HostnameRules.Normalize(value) is null)
            {
                error = BadAttributeSyntax + ". Invalid hostname";
                return false;
            }

            result.Add(new KeyValuePair<string, string?>(key, value));
        }

        attributes = result;
        error = null;
        return true;
    }

    private static bool TryGetAttribute(List<KeyValuePair<string, string?>> attributes, string key, out string? value)
    {
        foreach (KeyValuePair<string, string?> attribute in attributes)
        {
            if (attribute.Key == key)
            {
                value = attribute.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>A port attribute as a number; anything else (unavailable, not a number, out of range) is 0, "unknown".</summary>
    private static int ParseAttributePort(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535 ? port : 0;

    private static string DescribeAttributes(List<KeyValuePair<string, string?>> attributes) =>
        string.Join(' ', attributes.Select(a => a.Key + "=" + (a.Value ?? "[UNAVAILABLE]")));
}
