using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// One connection's I/O: the socket (when there is one), the stream over it (an <see cref="SslStream"/> after TLS), the
/// reader and writer over that stream, and the connection's <see cref="TimeoutControl"/>. Every read or write that can
/// wait on the client is bounded here; the TLS upgrade, the graceful close and the abort happen here and nowhere else.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "DisposeAsync disposes the stream, the socket and the abort source.")]
internal sealed class ConnectionTransport : ITimeoutHandler, IAsyncDisposable
{
    private readonly long _timeoutMs;
    private CancellationTokenSource? _abortSource;
    private int _aborted;
    private bool _closed;
    private volatile bool _settingUp;

    /// <summary>Creates the transport of an accepted <paramref name="socket"/>, or of a caller's <paramref name="stream"/>.</summary>
    /// <param name="socket">The socket, or <see langword="null"/> for a stream handed to the server.</param>
    /// <param name="stream">The stream, or <see langword="null"/> to read and write the socket.</param>
    /// <param name="timeoutMs">The socket timeout: the bound of every wait on the client.</param>
    /// <param name="inlineScheduling">Wait for the socket on a readiness loop and continue there (<see cref="SmtpServerOptions.UnsafePreferInlineScheduling"/>).</param>
    public ConnectionTransport(Socket? socket, Stream? stream, long timeoutMs, bool inlineScheduling = false)
    {
        Socket = socket;
        SocketStream = stream is null ? new SocketStream(socket!, inlineScheduling) : null;
        Stream = stream ?? SocketStream!;
        Reader = new ConnectionReader(Stream, socket);
        Writer = new ConnectionWriter(Stream);
        Timeouts = new TimeoutControl(this);
        _timeoutMs = timeoutMs;
    }

    public Socket? Socket { get; }

    /// <summary>The stream over <see cref="Socket"/> (under TLS, when there is TLS), or <see langword="null"/> for a caller's stream.</summary>
    public SocketStream? SocketStream { get; }

    /// <summary>The stream the session speaks over: the socket's, the caller's, or TLS over either.</summary>
    public Stream Stream { get; private set; }

    public ConnectionReader Reader { get; private set; }

    public ConnectionWriter Writer { get; private set; }

    public TimeoutControl Timeouts { get; }

    /// <summary>The socket timeout in milliseconds.</summary>
    public long TimeoutMs => _timeoutMs;

    /// <summary>Cancelled when the connection is aborted; given to every handler. Its source is made on first use, so idle connections carry none.</summary>
    public CancellationToken Aborted => (Volatile.Read(ref _abortSource) ?? CreateAbortSource()).Token;

    public bool IsAborted => Volatile.Read(ref _aborted) == 1;

    /// <summary>
    /// The transport is still being set up (a PROXY header or an implicit TLS handshake is awaited) and carries no
    /// session: a server that starts closing drops it at once. Set before the server's closing flag is looked at.
    /// </summary>
    public bool IsSettingUp
    {
        get => _settingUp;
        set => _settingUp = value;
    }

    /// <summary>The stream is TLS.</summary>
    public bool IsTls => Stream is SslStream { IsAuthenticated: true };

    /// <summary>Tears the transport down at once; pending reads and writes fail.</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _aborted, 1);
        try
        {
            Volatile.Read(ref _abortSource)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        catch (AggregateException)
        {
            // A handler's cancellation callback threw; the abort goes on.
        }

        SocketStream?.Dispose();
        Socket?.Dispose();
        Stream.Dispose();
    }

    void ITimeoutHandler.Interrupt(TimeoutAction action)
    {
        if (action == TimeoutAction.Abort)
        {
            Abort();
        }
        else
        {
            Reader.CancelPendingRead();
        }
    }

    /// <summary>Reads more input inside a message, bounded by <paramref name="timeoutMs"/> (at most the socket timeout); a timeout or abort fails the read.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadResult> ReadAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        Timeouts.Arm(TimeoutAction.WakeRead, Math.Min(timeoutMs, _timeoutMs));
        ReadResult result;
        try
        {
            result = await Reader.ReadAsync(cancellationToken);
        }
        finally
        {
            Timeouts.Disarm();
        }

        if (result.IsCanceled)
        {
            throw new IOException(Timeouts.TimedOut ? "The client did not send in time." : "The connection is closing.");
        }

        return result;
    }

    /// <summary>
    /// Waits, bounded by the socket timeout, until input is there when the wait is free (a readiness loop, see
    /// <see cref="ConnectionReader.WaitForDataAsync"/>), so the reads that follow complete at once instead of each
    /// suspending its own chain of async frames; completes at once otherwise.
    /// </summary>
    public ValueTask WaitForInputAsync()
    {
        ValueTask<int> wait = Reader.WaitForDataAsync();
        return wait.IsCompletedSuccessfully ? default : AwaitInputAsync(wait);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitInputAsync(ValueTask<int> wait)
    {
        Timeouts.Arm(TimeoutAction.WakeRead, _timeoutMs);
        try
        {
            _ = await wait;
        }
        finally
        {
            Timeouts.Disarm();
        }
    }

    /// <summary>Sends what the writer holds, bounded by the socket timeout (a client that does not read its replies is cut off).</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync()
    {
        if (_closed)
        {
            return;
        }

        Timeouts.Arm(TimeoutAction.Abort, _timeoutMs);
        try
        {
            await Writer.FlushAsync();
        }
        finally
        {
            Timeouts.Disarm();
        }
    }

    /// <summary>The bytes the reader already took off the stream (they belong to what follows, e.g. a TLS ClientHello), consumed.</summary>
    public byte[]? TakeBuffered(in ReadResult result)
    {
        byte[]? bytes = result.Buffer.IsEmpty ? null : result.Buffer.ToArray();
        Reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }

    /// <summary>
    /// The server side of a TLS handshake over the current stream (after <paramref name="prefix"/>, bytes already read),
    /// bounded by the socket timeout. On success the reader and writer run over TLS. Failures throw.
    /// </summary>
    public async ValueTask<SslStream> UpgradeToTlsAsync(byte[]? prefix, ServerOptionsSelectionCallback selectOptions, object state)
    {
        Timeouts.Arm(TimeoutAction.Abort, _timeoutMs);
        try
        {
            Stream inner = prefix is null ? Stream : new PrefixedReadStream(prefix, Stream);
            await Reader.CompleteAsync();
            await Writer.CompleteAsync();
            var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
            Stream = ssl;
            await ssl.AuthenticateAsServerAsync(selectOptions, state, Aborted);
            Reader = new ConnectionReader(ssl, Socket);
            Writer = new ConnectionWriter(ssl);
            return ssl;
        }
        finally
        {
            Timeouts.Disarm();
        }
    }

    /// <summary>
    /// After the final reply: sends it, ends TLS with close_notify, sends FIN, then reads until the client closes too
    /// (at most <paramref name="lingerMs"/>) so the reply is not lost to a reset. After a plaintext QUIT with nothing
    /// behind it (<paramref name="clientQuit"/>) the client sends nothing more: the reply is sent and the socket is left
    /// for <see cref="DisposeAsync"/> to close, whose FIN follows the reply as Postfix's does, without a wait for the
    /// client's FIN (the same packets on the wire).
    /// </summary>
    public async ValueTask CloseGracefullyAsync(long lingerMs, bool clientQuit = false)
    {
        try
        {
            await FlushAsync();
            if (clientQuit && Stream is not SslStream)
            {
                return;
            }

            if (Stream is SslStream { IsAuthenticated: true } ssl)
            {
                Timeouts.Arm(TimeoutAction.Abort, _timeoutMs);
                try
                {
                    await ssl.ShutdownAsync();
                }
                finally
                {
                    Timeouts.Disarm();
                }
            }

            if (Socket is null)
            {
                return;
            }

            Socket.Shutdown(SocketShutdown.Send);
            Timeouts.Arm(TimeoutAction.WakeRead, Math.Min(_timeoutMs, lingerMs));
            try
            {
                while (true)
                {
                    ReadResult result = await Reader.ReadAsync();
                    Reader.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        break;
                    }
                }
            }
            finally
            {
                Timeouts.Disarm();
            }
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // The client left first; nothing more to do.
        }
    }

    /// <summary>Releases the buffers, the stream and the socket (TLS close_notify to a dead peer is not an error).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        Timeouts.Disarm();
        await Reader.CompleteAsync();
        await Writer.CompleteAsync();
        try
        {
            await Stream.DisposeAsync();
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // TLS close_notify to a dead peer.
        }

        SocketStream?.Dispose();
        Socket?.Dispose();
    }

    /// <summary>Releases the abort source, once nothing can use the handlers' token any more.</summary>
    public void ReleaseAbortSource() => _abortSource?.Dispose();

    /// <summary>Is <paramref name="ex"/> the connection failing (peer gone, reset, aborted, TLS broken) rather than a bug?</summary>
    public static bool IsConnectionFailure(Exception ex) =>
        ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or System.Security.Authentication.AuthenticationException;

    private CancellationTokenSource CreateAbortSource()
    {
        var created = new CancellationTokenSource();
        if (Interlocked.CompareExchange(ref _abortSource, created, null) is { } existing)
        {
            created.Dispose();
            return existing;
        }

        if (SocketStream is not null)
        {
            SocketStream.AbortToken = created.Token;
        }

        // An abort that ran before the source existed found nothing to cancel.
        if (IsAborted)
        {
            created.Cancel();
        }

        return created;
    }
}
