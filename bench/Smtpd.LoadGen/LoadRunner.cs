using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;

namespace Smtpd.LoadGen;

/// <summary>
/// Runs one load pattern against one server. Every loop is bounded: by the number of messages, by the error budget
/// (<see cref="LoadGenOptions.MaxErrors"/>) and by the run deadline; every wait by the per-operation timeout.
/// </summary>
internal sealed class LoadRunner
{
    private const int StageMail = 1;
    private const int StageRcpt = 2;
    private const int StageData = 3;
    private const int StageMessage = 4;

    private readonly LoadGenOptions _options;
    private readonly MessageTemplate _template;
    private readonly EndPoint _endPoint;
    private readonly LatencyRecorder _latency;
    private readonly LatencyRecorder _greeting;
    private readonly ErrorLog _errors;
    private byte[][] _receiveBuffers = [];
    private Watchdog? _watchdog;
    private long _tickets;
    private volatile bool _stop;
    private long _lastStart = long.MaxValue;

    public LoadRunner(LoadGenOptions options, EndPoint endPoint)
    {
        _options = options;
        _endPoint = endPoint;
        _template = new MessageTemplate(options.Size, options.Recipients, options.ChunkSize);
        _tickets = options.TotalMessages;
        _latency = new LatencyRecorder(options.Mode == LoadMode.Idle ? 0 : options.TotalMessages);
        _greeting = new LatencyRecorder(options.Mode switch
        {
            LoadMode.Idle => options.IdleConnections,
            LoadMode.PerMessage => options.TotalMessages,
            _ => options.Connections,
        });
        _errors = new ErrorLog(options.MaxErrors, () => _stop = true);
    }

    public async Task<RunReport> RunAsync()
    {
        int slots = _options.Mode == LoadMode.Idle ? _options.IdleConnections : _options.Connections;
        using var watchdog = new Watchdog(slots, _options.Deadline, () =>
        {
            _stop = true;
            _errors.Add("run deadline reached");
        });
        _watchdog = watchdog;
        _receiveBuffers = new byte[slots][];
        for (int i = 0; i < slots; i++)
        {
            _receiveBuffers[i] = new byte[SmtpClientConnection.ReceiveBufferSize];
        }

        var report = new RunReport { Options = _options, MessageSize = _template.MessageSize };
        switch (_options.Mode)
        {
            case LoadMode.Reuse:
                await RunReuseAsync(report);
                break;
            case LoadMode.PerMessage:
                await RunPerMessageAsync(report);
                break;
            default:
                await RunIdleAsync(report);
                break;
        }

        report.Completed = _latency.Count;
        report.Errors = _errors.Count;
        report.ErrorSamples = [.. _errors.Samples];
        report.Latency = _latency.Summarize();
        report.GreetingLatency = _greeting.Summarize();
        report.ClientCpuTotalSeconds = Environment.CpuUsage.TotalTime.TotalSeconds;
        return report;
    }

    private async Task RunReuseAsync(RunReport report)
    {
        int n = _options.Connections;
        var connections = new SmtpClientConnection?[n];
        long setupStart = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, n).Select(async slot => connections[slot] = await EstablishAsync(slot, Stopwatch.GetTimestamp())));
        report.SetupSeconds = Stopwatch.GetElapsedTime(setupStart).TotalSeconds;
        report.Established = connections.Count(c => c is not null);

        // The measured phase starts once every connection is ready, so a server's greeting pause does not count.
        TimeSpan cpuStart = Environment.CpuUsage.TotalTime;
        long allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        StartClock(start);
        SmtpClientConnection?[] survivors = await Task.WhenAll(Enumerable.Range(0, n)
            .Where(slot => connections[slot] is not null)
            .Select(slot => ReuseWorkerAsync(slot, connections[slot]!)));
        report.ElapsedSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        report.ClientCpuSeconds = (Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds;
        report.ClientAllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - allocatedStart;

        await Task.WhenAll(survivors.Select((c, slot) => c is null ? Task.CompletedTask : QuitAsync(slot, c)));
    }

    private async Task RunPerMessageAsync(RunReport report)
    {
        TimeSpan cpuStart = Environment.CpuUsage.TotalTime;
        long allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        StartClock(start);
        await Task.WhenAll(Enumerable.Range(0, _options.Connections).Select(PerMessageWorkerAsync));
        report.ElapsedSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        report.ClientCpuSeconds = (Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds;
        report.ClientAllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - allocatedStart;
        report.Established = (int)Math.Min(int.MaxValue, _greeting.Count);
    }

    private async Task RunIdleAsync(RunReport report)
    {
        int count = _options.IdleConnections;
        ServerProcessProbe? probe = _options.ServerPid > 0 ? new ServerProcessProbe(_options.ServerPid) : null;
        report.ServerRssBeforeKib = probe?.ReadRssKib() ?? -1;
        var connections = new SmtpClientConnection?[count];
        int next = -1;
        TimeSpan cpuStart = Environment.CpuUsage.TotalTime;
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Math.Min(_options.IdleParallelism, count)).Select(async _ =>
        {
            int slot;
            while (!_stop && (slot = Interlocked.Increment(ref next)) < count)
            {
                connections[slot] = await EstablishAsync(slot, Stopwatch.GetTimestamp());
            }
        }));
        report.SetupSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        report.ElapsedSeconds = report.SetupSeconds;
        report.ClientCpuSeconds = (Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds;
        report.Established = connections.Count(c => c is not null);
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"idle: {report.Established}/{count} connections established in {report.SetupSeconds:F2} s; holding them"));

        await Task.Delay(_options.Settle);
        report.ServerRssIdleKib = probe?.ReadRssKib() ?? -1;
        TimeSpan rest = _options.Hold - _options.Settle;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }

        report.ServerPeakRssKib = probe?.ReadPeakRssKib() ?? -1;
        for (int slot = 0; slot < count; slot++)
        {
            if (connections[slot] is { } connection)
            {
                if (connection.PeerClosedOrSentData())
                {
                    report.DroppedDuringHold++;
                    _errors.Add("idle connection closed by the server during the hold");
                }

                try
                {
                    await connection.SendAsync(_template.Quit);
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    // The connection is being closed anyway; a failed QUIT was already counted as a drop.
                }
                finally
                {
                    connection.Dispose();
                    _watchdog!.Watch(slot, null);
                }
            }
        }
    }

    /// <summary>Connects, reads the greeting, sends EHLO (and upgrades with STARTTLS); null when that failed (counted as an error).</summary>
    private async Task<SmtpClientConnection?> EstablishAsync(int slot, long startTimestamp)
    {
        var connection = new SmtpClientConnection(_endPoint.AddressFamily, _options.Timeout, _receiveBuffers[slot]);
        _watchdog!.Watch(slot, connection);
        string stage = "connect";
        try
        {
            await connection.ConnectAsync(_endPoint);
            stage = "greeting";
            int code = await connection.ReadReplyAsync();
            if (code != 220)
            {
                return Failed(connection, slot, $"greeting: {code}");
            }

            _greeting.Record(Stopwatch.GetTimestamp() - startTimestamp);
            stage = "EHLO";
            await connection.SendAsync(_template.Ehlo);
            code = await connection.ReadReplyAsync();
            if (code != 250)
            {
                return Failed(connection, slot, $"EHLO: {code}");
            }

            if (_options.StartTls)
            {
                stage = "STARTTLS";
                await connection.SendAsync(_template.StartTls);
                code = await connection.ReadReplyAsync();
                if (code != 220)
                {
                    return Failed(connection, slot, $"STARTTLS: {code}");
                }

                stage = "TLS handshake";
                await connection.UpgradeToTlsAsync();
                stage = "EHLO after STARTTLS";
                await connection.SendAsync(_template.Ehlo);
                code = await connection.ReadReplyAsync();
                if (code != 250)
                {
                    return Failed(connection, slot, $"EHLO after STARTTLS: {code}");
                }
            }

            return connection;
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            return Failed(connection, slot, Describe(stage, ex, connection));
        }
    }

    private SmtpClientConnection? Failed(SmtpClientConnection connection, int slot, string description)
    {
        _errors.Add(description);
        connection.Dispose();
        _watchdog!.Watch(slot, null);
        return null;
    }

    /// <summary>Runs transactions on one reused connection until the work is done; returns the connection still open, if any.</summary>
    private async Task<SmtpClientConnection?> ReuseWorkerAsync(int slot, SmtpClientConnection connection)
    {
        int ownLeft = _options.MessagesPerConnection;
        while (!_stop && TakeTicket(ref ownLeft))
        {
            long start = Stopwatch.GetTimestamp();
            int failure;
            try
            {
                failure = await TransactAsync(connection);
            }
            catch (Exception ex) when (IsConnectionFailure(ex))
            {
                _errors.Add(Describe("transaction", ex, connection));
                ReturnTicket(ref ownLeft);
                connection.Dispose();
                SmtpClientConnection? replacement = _stop ? null : await EstablishAsync(slot, Stopwatch.GetTimestamp());
                if (replacement is null)
                {
                    _watchdog!.Watch(slot, null);
                    return null;
                }

                connection = replacement;
                continue;
            }

            if (failure == 0)
            {
                _latency.Record(Stopwatch.GetTimestamp() - start);
            }
            else
            {
                _errors.Add(DescribeRefusal(failure));
            }
        }

        return connection;
    }

    /// <summary>One connection per message: connect, greeting, EHLO, transaction, QUIT; the latency covers connect to the final 250.</summary>
    private async Task PerMessageWorkerAsync(int slot)
    {
        int ownLeft = _options.MessagesPerConnection;
        while (!_stop && TakeTicket(ref ownLeft))
        {
            long start = Stopwatch.GetTimestamp();
            SmtpClientConnection? connection = await EstablishAsync(slot, start);
            if (connection is null)
            {
                ReturnTicket(ref ownLeft);
                continue;
            }

            bool accepted = false;
            try
            {
                int failure = await TransactAsync(connection);
                if (failure == 0)
                {
                    accepted = true;
                    _latency.Record(Stopwatch.GetTimestamp() - start);
                }
                else
                {
                    _errors.Add(DescribeRefusal(failure));
                }

                await connection.SendAsync(_template.Quit);
                int code = await connection.ReadReplyAsync();
                if (code != 221)
                {
                    _errors.Add($"QUIT: {code}");
                }
            }
            catch (Exception ex) when (IsConnectionFailure(ex))
            {
                _errors.Add(Describe(accepted ? "QUIT" : "transaction", ex, connection));
                if (!accepted)
                {
                    ReturnTicket(ref ownLeft);
                }
            }
            finally
            {
                connection.Dispose();
                _watchdog!.Watch(slot, null);
            }
        }
    }

    private async Task QuitAsync(int slot, SmtpClientConnection connection)
    {
        try
        {
            await connection.SendAsync(_template.Quit);
            int code = await connection.ReadReplyAsync();
            if (code != 221)
            {
                _errors.Add($"QUIT: {code}");
            }
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            _errors.Add(Describe("QUIT", ex, connection));
        }
        finally
        {
            connection.Dispose();
            _watchdog!.Watch(slot, null);
        }
    }

    /// <summary>One mail transaction. Returns 0 when the message was accepted, else <c>stage * 1000 + code</c> of the first unexpected reply.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> TransactAsync(SmtpClientConnection c)
    {
        MessageTemplate t = _template;
        int failure = 0;
        int code;
        if (_options.Bdat)
        {
            return await TransactWithBdatAsync(c);
        }

        if (_options.Pipelining)
        {
            await c.SendAsync(t.Group);
            code = await c.ReadReplyAsync();
            if (code != 250)
            {
                failure = Failure(StageMail, code);
            }

            for (int i = 0; i < t.Rcpt.Length; i++)
            {
                code = await c.ReadReplyAsync();
                if (code != 250 && failure == 0)
                {
                    failure = Failure(StageRcpt, code);
                }
            }

            code = await c.ReadReplyAsync();
            if (code != 354)
            {
                await ResetAsync(c);
                return failure != 0 ? failure : Failure(StageData, code);
            }
        }
        else
        {
            failure = await SendEnvelopeAsync(c);
            if (failure != 0)
            {
                return failure;
            }

            await c.SendAsync(t.Data);
            code = await c.ReadReplyAsync();
            if (code != 354)
            {
                await ResetAsync(c);
                return Failure(StageData, code);
            }
        }

        await c.SendAsync(t.Body);
        code = await c.ReadReplyAsync();
        return failure != 0 ? failure : code == 250 ? 0 : Failure(StageMessage, code);
    }

    /// <summary>One mail transaction whose message goes as BDAT chunks (RFC 3030): one reply per chunk, the last is the message's.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> TransactWithBdatAsync(SmtpClientConnection c)
    {
        MessageTemplate t = _template;
        int failure = 0;
        int code;
        if (_options.Pipelining)
        {
            await c.SendAsync(t.BdatGroup);
            for (int i = 0; i < 1 + t.Rcpt.Length; i++)
            {
                code = await c.ReadReplyAsync();
                if (code != 250 && failure == 0)
                {
                    failure = Failure(i == 0 ? StageMail : StageRcpt, code);
                }
            }
        }
        else
        {
            failure = await SendEnvelopeAsync(c);
            if (failure != 0)
            {
                return failure;
            }

            await c.SendAsync(t.Chunks);
        }

        // Every chunk is answered, refused or not; the last reply is the message's.
        for (int i = 0; i < t.ChunkCount; i++)
        {
            code = await c.ReadReplyAsync();
            if (code != 250 && failure == 0)
            {
                failure = Failure(i == t.ChunkCount - 1 ? StageMessage : StageData, code);
            }
        }

        return failure;
    }

    /// <summary>MAIL, then each RCPT, each waiting for its reply: 0, or the failure (the transaction then reset).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendEnvelopeAsync(SmtpClientConnection c)
    {
        MessageTemplate t = _template;
        await c.SendAsync(t.Mail);
        int code = await c.ReadReplyAsync();
        if (code != 250)
        {
            await ResetAsync(c);
            return Failure(StageMail, code);
        }

        for (int i = 0; i < t.Rcpt.Length; i++)
        {
            await c.SendAsync(t.Rcpt[i]);
            code = await c.ReadReplyAsync();
            if (code != 250)
            {
                await ResetAsync(c);
                return Failure(StageRcpt, code);
            }
        }

        return 0;
    }

    private async ValueTask ResetAsync(SmtpClientConnection c)
    {
        await c.SendAsync(_template.Rset);
        await c.ReadReplyAsync();
    }

    /// <summary>The messaging phase starts: with <see cref="LoadGenOptions.Duration"/>, no message starts after it has passed.</summary>
    private void StartClock(long start)
    {
        if (_options.Duration > TimeSpan.Zero)
        {
            _lastStart = start + (long)(_options.Duration.TotalSeconds * Stopwatch.Frequency);
        }
    }

    private bool TakeTicket(ref int ownLeft)
    {
        if (Stopwatch.GetTimestamp() >= _lastStart)
        {
            return false;
        }

        if (_options.MessagesPerConnection > 0)
        {
            if (ownLeft <= 0)
            {
                return false;
            }

            ownLeft--;
            return true;
        }

        return Interlocked.Decrement(ref _tickets) >= 0;
    }

    private void ReturnTicket(ref int ownLeft)
    {
        if (_options.MessagesPerConnection > 0)
        {
            ownLeft++;
        }
        else
        {
            Interlocked.Increment(ref _tickets);
        }
    }

    private static int Failure(int stage, int code) => (stage * 1000) + Math.Max(code, 0);

    private static string DescribeRefusal(int failure)
    {
        string stage = (failure / 1000) switch
        {
            StageMail => "MAIL",
            StageRcpt => "RCPT",
            StageData => "DATA or a BDAT chunk",
            _ => "end of data",
        };
        int code = failure % 1000;
        return code == 0 ? $"{stage}: malformed reply" : $"{stage}: {code}";
    }

    private static string Describe(string stage, Exception ex, SmtpClientConnection connection) =>
        connection.TimedOut ? $"{stage}: timed out" : $"{stage}: {ex.GetType().Name}: {ex.Message}";

    private static bool IsConnectionFailure(Exception ex) =>
        ex is SocketException or IOException or ObjectDisposedException or AuthenticationException or OperationCanceledException;
}
