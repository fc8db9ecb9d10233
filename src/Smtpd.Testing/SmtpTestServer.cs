using System.Net;

namespace Smtpd.Testing;

/// <summary>
/// An SMTP server for integration tests, in the test's own process: it listens on a free port of 127.0.0.1, accepts
/// every message (no authentication needed, any sender and recipient) and keeps it as a <see cref="ReceivedMessage"/>.
/// Failures and delays can be injected to test how the code under test handles refusals and retries.
/// </summary>
/// <example>
/// <code>
/// await using var smtp = await SmtpTestServer.StartAsync();
/// await mailer.SendWelcomeAsync("alice@example.com");               // configured with smtp.Host and smtp.Port
/// ReceivedMessage mail = await smtp.WaitForMessageAsync(m => m.To.Contains("alice@example.com"));
/// mail.AssertSubject("Welcome").AssertBodyContains("Hello Alice");
/// </code>
/// </example>
public sealed class SmtpTestServer : IAsyncDisposable
{
    /// <summary>How long <see cref="WaitForMessageAsync"/> waits when no timeout is given: 10 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<(Func<ReceivedMessage, bool> Predicate, TaskCompletionSource<ReceivedMessage> Arrived)> _waiters = [];
    private readonly List<SmtpFault> _faults = [];
    private SmtpServer _server = null!;
    private int _refused;

    private SmtpTestServer()
    {
    }

    /// <summary>The address to connect to: <c>127.0.0.1</c>.</summary>
    public string Host => EndPoint.Address.ToString();

    /// <summary>The port the server listens on (chosen by the system).</summary>
    public int Port => EndPoint.Port;

    /// <summary>The endpoint the server listens on.</summary>
    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>The running <see cref="SmtpServer"/>, for what this class does not cover.</summary>
    public SmtpServer Server => _server;

    /// <summary>The messages accepted so far, oldest first (a snapshot).</summary>
    public IReadOnlyList<ReceivedMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>How many messages were refused at the end of <c>DATA</c> by an injected failure (each a delivery attempt).</summary>
    public int RefusedMessages => Volatile.Read(ref _refused);

    /// <summary>
    /// Starts a server on a free port of 127.0.0.1. Defaults suit tests: no AUTH required, no greeting delay, no
    /// reverse DNS, enhanced status codes on. <paramref name="configure"/> may change any option (a size limit, TLS, AUTH
    /// with <see cref="SmtpPasswordAuthenticator"/>); the message handlers are the test server's own.
    /// </summary>
    /// <param name="configure">Changes the options before the server starts.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    public static async Task<SmtpTestServer> StartAsync(Action<SmtpServerOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var test = new SmtpTestServer();
        var options = new SmtpServerOptions
        {
            Name = "smtp.test",
            AuthOptional = true,
            GreetingDelay = TimeSpan.Zero,
            DisableReverseLookup = true,
            HideENHANCEDSTATUSCODES = false,
            CloseTimeout = TimeSpan.FromSeconds(1),
        };
        configure?.Invoke(options);
        options.OnConnect = (session, ct) => test.ApplyFaultsAsync(SmtpStage.Connect, null, ct);
        options.OnMailFrom = (address, session, ct) => test.ApplyFaultsAsync(SmtpStage.MailFrom, address.Address, ct);
        options.OnRcptTo = (address, session, ct) => test.ApplyFaultsAsync(SmtpStage.RcptTo, address.Address, ct);
        options.OnData = test.ReceiveAsync;
        test._server = new SmtpServer(options);
        test.EndPoint = (IPEndPoint)await test._server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cancellationToken);
        return test;
    }

    /// <summary>
    /// Waits until a message matching <paramref name="predicate"/> (any message when <see langword="null"/>) has arrived,
    /// and returns it; one that arrived before the call counts.
    /// </summary>
    /// <param name="predicate">Which message; <see langword="null"/> for any.</param>
    /// <param name="timeout">How long to wait; <see langword="null"/> for <see cref="DefaultTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The first matching message.</returns>
    /// <exception cref="SmtpAssertionException">None arrived in time; the message lists what did arrive.</exception>
    public async Task<ReceivedMessage> WaitForMessageAsync(Func<ReceivedMessage, bool>? predicate = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        predicate ??= static _ => true;
        TaskCompletionSource<ReceivedMessage> arrived;
        lock (_lock)
        {
            if (_messages.FirstOrDefault(predicate) is { } existing)
            {
                return existing;
            }

            arrived = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((predicate, arrived));
        }

        TimeSpan limit = timeout ?? DefaultTimeout;
        try
        {
            return await arrived.Task.WaitAsync(limit, cancellationToken);
        }
        catch (TimeoutException)
        {
            IReadOnlyList<ReceivedMessage> messages = Messages;
            string received = messages.Count == 0 ? "none" : string.Join("; ", messages);
            throw new SmtpAssertionException($"No matching message arrived within {limit.TotalSeconds:0.###} s. Received {messages.Count}: {received}.");
        }
        finally
        {
            lock (_lock)
            {
                _waiters.RemoveAll(w => w.Arrived == arrived);
            }
        }
    }

    /// <summary>Forgets the messages received so far (faults stay).</summary>
    public void ClearMessages()
    {
        lock (_lock)
        {
            _messages.Clear();
        }
    }

    /// <summary>Refuses <paramref name="address"/> at <c>RCPT TO</c> every time (by default <c>550 5.1.1 No such user here</c>).</summary>
    /// <param name="address">The recipient (case-insensitive).</param>
    /// <param name="code">The reply code: 5xx permanent, 4xx temporary.</param>
    /// <param name="message">The reply text.</param>
    /// <param name="enhancedCode">The RFC 3463 code.</param>
    /// <param name="times">How many times; <see langword="null"/> for every time.</param>
    public void RejectRecipient(string address, int code = 550, string message = "No such user here", string? enhancedCode = "5.1.1", int? times = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        AddFault(new SmtpFault(SmtpStage.RcptTo, address, SmtpResult.Reject(code, message, enhancedCode), TimeSpan.Zero, times));
    }

    /// <summary>
    /// Answers <paramref name="stage"/> with an error reply, <paramref name="times"/> times, then normally again: a 4xx
    /// makes a well-behaved client retry later, a 5xx makes it give up (by default <c>451 4.3.0</c> once).
    /// </summary>
    /// <param name="stage">Where: connect, <c>MAIL FROM</c>, each <c>RCPT TO</c>, or the end of <c>DATA</c>.</param>
    /// <param name="times">How many times; <see langword="null"/> for every time.</param>
    /// <param name="code">The reply code (4xx or 5xx).</param>
    /// <param name="message">The reply text.</param>
    /// <param name="enhancedCode">The RFC 3463 code.</param>
    public void Fail(SmtpStage stage, int? times = 1, int code = 451, string message = "Try again later", string? enhancedCode = "4.3.0") =>
        AddFault(new SmtpFault(stage, null, SmtpResult.Reject(code, message, enhancedCode), TimeSpan.Zero, times));

    /// <summary>Waits <paramref name="delay"/> before answering <paramref name="stage"/>: for testing the client's timeouts.</summary>
    /// <param name="stage">Where the server is slow.</param>
    /// <param name="delay">How long it waits.</param>
    /// <param name="times">How many times; <see langword="null"/> for every time.</param>
    public void Delay(SmtpStage stage, TimeSpan delay, int? times = null) =>
        AddFault(new SmtpFault(stage, null, null, delay, times));

    /// <summary>Removes every injected failure and delay.</summary>
    public void ClearFaults()
    {
        lock (_lock)
        {
            _faults.Clear();
        }
    }

    /// <summary>Stops the server: open connections are closed.</summary>
    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private void AddFault(SmtpFault fault)
    {
        lock (_lock)
        {
            _faults.Add(fault);
        }
    }

    private async ValueTask<SmtpResult> ApplyFaultsAsync(SmtpStage stage, string? address, CancellationToken cancellationToken)
    {
        SmtpFault[] faults;
        lock (_lock)
        {
            faults = [.. _faults];
        }

        foreach (SmtpFault fault in faults)
        {
            (bool applied, SmtpResult? reply) = await fault.ApplyAsync(stage, address, cancellationToken);
            if (applied && reply is { } refusal)
            {
                return refusal;
            }
        }

        return SmtpResult.Accept();
    }

    private async ValueTask<SmtpResult> ReceiveAsync(SmtpDataStream data, SmtpSession session, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await data.CopyToAsync(buffer, cancellationToken);
        SmtpResult result = await ApplyFaultsAsync(SmtpStage.Data, null, cancellationToken);
        if (result != SmtpResult.Accept())
        {
            Interlocked.Increment(ref _refused);
            return result;
        }

        ReceivedMessage message;
        try
        {
            message = new ReceivedMessage(
                session.Envelope.MailFrom?.Address ?? "", [.. session.Envelope.RcptTo.Select(r => r.Address)], buffer.ToArray(), session, DateTimeOffset.UtcNow);
        }
        catch (FormatException ex)
        {
            return SmtpResult.Reject(554, "Message cannot be parsed: " + ex.Message.ReplaceLineEndings(" "), "5.6.0");
        }

        lock (_lock)
        {
            _messages.Add(message);
            foreach ((Func<ReceivedMessage, bool> predicate, TaskCompletionSource<ReceivedMessage> arrived) in _waiters)
            {
                try
                {
                    if (predicate(message))
                    {
                        arrived.TrySetResult(message);
                    }
                }
                catch (Exception ex)
                {
                    // The test's own predicate failed (say, a null subject): the waiting test reports it.
                    arrived.TrySetException(ex);
                }
            }
        }

        return SmtpResult.Accept("Message received");
    }
}
