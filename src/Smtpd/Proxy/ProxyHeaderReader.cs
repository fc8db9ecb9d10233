using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// The PROXY header a trusted proxy sends before anything else (version 1 text or version 2 binary): exactly its
/// bytes are taken from the socket (peeking for version 1), so whatever follows (a TLS ClientHello, pipelined commands)
/// stays for the session. A malformed header gets the reference's diagnostic and a half-close; a slow one is dropped
/// after the socket timeout; the announced client becomes the session's.
/// </summary>
internal sealed class ProxyHeaderReader(ConnectionTransport transport, SmtpSession session, ServerContext server, ILogger logger, bool ignored)
{
    private static readonly byte[] InvalidProxyHeaderReply = "* BAD Invalid PROXY header\r\n"u8.ToArray();

    public async ValueTask<bool> ReadAsync(SocketStream socket)
    {
        IPAddress proxyAddress = session.RemoteAddress;
        int proxyPort = session.RemotePort;
        // Marked first: a close that starts from here on drops this socket, or is seen by the registry.
        transport.IsSettingUp = true;
        if (!server.Connections.TryBeginProxyHeader())
        {
            transport.IsSettingUp = false;
            CountRefusal("max_clients");
            ProxyLog.Dropped(logger, session.Id, proxyAddress, server.IsClosing ? "the server is closing" : "too many connections are waiting for their PROXY header");
            return false;
        }

        const int maxLine = ProxyHeaderParser.MaxVersion1Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(maxLine);
        byte[]? large = null;
        try
        {
            transport.Timeouts.Arm(TimeoutAction.Abort, transport.TimeoutMs);
            string? invalid = null;
            SmtpProxyHeader? header = null;

            // Peek, so that the bytes after a version 1 line stay in the socket for the session (or for TLS).
            int peeked = await socket.ReceiveAsync(buffer.AsMemory(0, maxLine), SocketFlags.Peek, transport.Aborted);
            if (peeked == 0)
            {
                ProxyLog.ClosedBeforeHeader(logger, session.Id, proxyAddress, "before");
                return false;
            }

            switch (ProxyHeaderParser.Classify(buffer.AsSpan(0, peeked)))
            {
                case ProxyHeaderKind.Version2:
                    // A version 2 header says its own length: read exactly that, no peeking needed.
                    await transport.Stream.ReadExactlyAsync(buffer.AsMemory(0, ProxyHeaderParser.Version2FixedLength), transport.Aborted);

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

                    await transport.Stream.ReadExactlyAsync(target.AsMemory(ProxyHeaderParser.Version2FixedLength, length - ProxyHeaderParser.Version2FixedLength), transport.Aborted);

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
                            await transport.Stream.ReadExactlyAsync(buffer.AsMemory(consumed, lf + 1), transport.Aborted);

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
                        await transport.Stream.ReadExactlyAsync(buffer.AsMemory(consumed, peeked), transport.Aborted);

                        consumed += peeked;
                        peeked = await socket.ReceiveAsync(buffer.AsMemory(consumed, maxLine - consumed), SocketFlags.Peek, transport.Aborted);
                        if (peeked == 0)
                        {
                            ProxyLog.ClosedBeforeHeader(logger, session.Id, proxyAddress, "inside");
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

            session.ProxyHeader = header;
            if (header!.Source is { } source)
            {
                session.RemoteAddress = source.Address;
                session.RemotePort = source.Port;
            }

            return true;
        }
        catch (Exception ex) when (ConnectionTransport.IsConnectionFailure(ex))
        {
            if (transport.Timeouts.TimedOut)
            {
                CountRefusal("proxy_header");
                ProxyLog.Dropped(logger, session.Id, proxyAddress, $"no complete PROXY header within {transport.TimeoutMs} ms");
            }
            else if (server.IsClosing)
            {
                ProxyLog.Dropped(logger, session.Id, proxyAddress, "the server is closing");
            }
            else
            {
                // The peer closed or reset the connection inside the header.
                ProxyLog.ClosedBeforeHeader(logger, session.Id, proxyAddress, "inside");
            }

            return false;
        }
        finally
        {
            transport.Timeouts.Disarm();
            transport.IsSettingUp = false;
            server.Connections.EndProxyHeader();
            ArrayPool<byte>.Shared.Return(buffer);
            if (large is not null)
            {
                ArrayPool<byte>.Shared.Return(large);
            }
        }
    }

    private void CountRefusal(string reason)
    {
        if (!ignored)
        {
            server.Metrics.ConnectionRefused(reason, session);
        }
    }

    /// <summary>The reference's diagnostic, then a half-close; whatever the peer still sends is read away for at most a second.</summary>
    private async ValueTask RefuseProxyHeaderAsync(SocketStream socket, IPAddress proxyAddress, string reason, byte[] scratch)
    {
        ProxyLog.InvalidHeader(logger, session.Id, proxyAddress, reason);
        transport.Timeouts.Arm(TimeoutAction.Abort, Math.Min(transport.TimeoutMs, 1000));
        try
        {
            await socket.WriteAsync(InvalidProxyHeaderReply, transport.Aborted);
            transport.Socket!.Shutdown(SocketShutdown.Send);
            while (await socket.ReceiveAsync(scratch, SocketFlags.None, transport.Aborted) > 0)
            {
                // Discarded.
            }
        }
        catch (Exception ex) when (ConnectionTransport.IsConnectionFailure(ex))
        {
            // Gone or out of time: the socket is closed either way.
        }
    }
}
