using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Smtpd.Tests.Telemetry;

/// <summary>A <see cref="MeterListener"/> sees the instruments move (what dotnet-counters would show).</summary>
public class MetricsTests
{
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();

        public ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Measurements { get; } = new();

        public HashSet<string> Published { get; } = [];

        public Recorder(Func<Meter, bool> meterFilter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SmtpTelemetry.MeterName && meterFilter(instrument.Meter))
                {
                    lock (Published)
                    {
                        Published.Add(instrument.Name);
                    }

                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, s) => Measurements.Enqueue((i.Name, v, tags.ToArray())));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, s) => Measurements.Enqueue((i.Name, v, tags.ToArray())));
            _listener.Start();
        }

        public double Sum(string instrument, string? tagKey = null, object? tagValue = null) =>
            Measurements.Where(m => m.Instrument == instrument && (tagKey is null || m.Tags.Any(t => t.Key == tagKey && Equals(t.Value, tagValue)))).Sum(m => m.Value);

        public int Count(string instrument) => Measurements.Count(m => m.Instrument == instrument);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Connections_messages_bytes_and_durations_are_measured()
    {
        int port;
        using var factory = new TestMeterFactory();
        using var recorder = new Recorder(meter => factory.Meters.Contains(meter));
        await using (var server = await TestServer.StartAsync(o =>
        {
            o.MeterFactory = factory;
            o.DisabledCommands = ["AUTH"];
            o.MaxClients = 1;
            o.OnData = async (stream, s, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                return stream.ByteLength > 10 ? SmtpResult.Reject(554, "too long for this test") : SmtpResult.Accept();
            };
        }))
        {
            port = server.EndPoint.Port;
            await using (var client = await server.ConnectAsync())
            {
                await client.CommandAsync("EHLO x");
                foreach (string body in new[] { "short", "this one is refused" })
                {
                    await client.CommandAsync("MAIL FROM:<a@b.c>");
                    await client.CommandAsync("RCPT TO:<r@b.c>");
                    await client.CommandAsync("DATA");
                    await client.SendAsync(body + "\r\n.\r\n");
                    await client.ReadReplyAsync();
                }

                Assert.Equal(1, recorder.Sum("smtpd.active_connections"));
                await using (var refused = await server.ConnectAsync(readGreeting: false))
                {
                    Assert.Equal(421, (await refused.ReadReplyAsync()).Code);
                }

                await client.CommandAsync("QUIT");
            }

            await Connections.ConnectionManagementTests.WaitUntil(() => recorder.Count("smtpd.connection.duration") >= 1);
        }

        Assert.Equal(0, recorder.Sum("smtpd.active_connections"));
        Assert.All(recorder.Measurements.Where(m => m.Instrument is "smtpd.active_connections" or "smtpd.connections" or "smtpd.connection.duration" or "smtpd.refused_connections"),
            m => Assert.Equal(["network.transport=tcp", "network.type=ipv4", "server.address=127.0.0.1", $"server.port={port}"],
                m.Tags.Where(t => t.Key != "smtpd.refusal.reason").Select(t => $"{t.Key}={t.Value}").Order(StringComparer.Ordinal)));
        Assert.Equal(2, recorder.Sum("smtpd.connections"));
        Assert.Equal(1, recorder.Sum("smtpd.refused_connections", "smtpd.refusal.reason", "max_clients"));
        Assert.Equal(1, recorder.Sum("smtpd.messages", "smtpd.message.result", "accepted"));
        Assert.Equal(1, recorder.Sum("smtpd.messages", "smtpd.message.result", "refused"));
        Assert.Equal(7 + 21, recorder.Sum("smtpd.message.size"));
        Assert.Equal(2, recorder.Count("smtpd.message.size"));
        Assert.Equal(2, recorder.Count("smtpd.transaction.duration"));
        Assert.Equal(2, recorder.Measurements.Count(m => m.Instrument == "smtpd.command.duration" && m.Tags.Any(t => Equals(t.Value, "MAIL"))));
        Assert.Contains(recorder.Measurements, m => m.Instrument == "smtpd.command.duration" && m.Tags.Any(t => Equals(t.Value, "EHLO")));
    }

    [Fact]
    public async Task An_smtp_message_refused_for_one_of_its_recipients_is_counted_as_refused()
    {
        using var factory = new TestMeterFactory();
        using var recorder = new Recorder(meter => factory.Meters.Contains(meter));
        await using (var server = await TestServer.StartAsync(o =>
        {
            o.MeterFactory = factory;
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, s, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                return SmtpResult.PerRecipient(SmtpResult.Accept(), SmtpResult.Reject(550, "Mailbox full"));
            };
        }))
        {
            await using var client = await server.ConnectAsync();
            await client.CommandAsync("EHLO x");
            await client.CommandAsync("MAIL FROM:<a@b.c>");
            await client.CommandAsync("RCPT TO:<r@b.c>");
            await client.CommandAsync("RCPT TO:<q@b.c>");
            await client.CommandAsync("DATA");
            await client.SendAsync("body\r\n.\r\n");
            Assert.Equal("550 Mailbox full", (await client.ReadReplyAsync()).Line);
            await client.CommandAsync("QUIT");
        }

        Assert.Equal(0, recorder.Sum("smtpd.messages", "smtpd.message.result", "accepted"));
        Assert.Equal(1, recorder.Sum("smtpd.messages", "smtpd.message.result", "refused"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sessions_and_transactions_are_traced_with_the_sender_only_when_opted_in(bool traceSenderAddress)
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SmtpTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        string? sessionId = null;
        await using (var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.TraceSenderAddress = traceSenderAddress;
            o.OnConnect = (s, ct) =>
            {
                sessionId = s.Id;
                return default;
            };
        }))
        {
            await using var client = await server.ConnectAsync();
            await client.CommandAsync("EHLO x");
            await client.CommandAsync("MAIL FROM:<a@b.c>");
            await client.CommandAsync("RCPT TO:<r@b.c>");
            await client.CommandAsync("DATA");
            await client.SendAsync("hello\r\n.\r\n");
            await client.ReadReplyAsync();
            await client.CommandAsync("MAIL FROM:<b@b.c>");
            await client.CommandAsync("RSET");
            await client.CommandAsync("QUIT");
        }

        await Connections.ConnectionManagementTests.WaitUntil(() => activities.Any(a => a.OperationName == "smtpd.session" && Equals(a.GetTagItem("smtpd.session.id"), sessionId)));
        var mine = activities.Where(a => Equals(a.GetTagItem("smtpd.session.id"), sessionId)).ToList();
        Activity session = mine.Single(a => a.OperationName == "smtpd.session");
        var transactions = mine.Where(a => a.OperationName == "smtpd.transaction").ToList();
        Assert.Equal(2, transactions.Count);
        Assert.Equal("accepted", transactions[0].GetTagItem("smtpd.transaction.result"));
        Assert.Equal(7L, transactions[0].GetTagItem("smtpd.message.size"));
        Assert.Equal("aborted", transactions[1].GetTagItem("smtpd.transaction.result"));
        Assert.All(transactions, t => Assert.Equal(session.TraceId, t.TraceId));
        Assert.Equal(1, session.GetTagItem("smtpd.session.transaction_count"));

        // One server span per connection; the transactions are internal spans inside it, without the sender unless opted in.
        Assert.Equal(ActivityKind.Server, session.Kind);
        Assert.All(transactions, t => Assert.Equal((ActivityKind.Internal, session.SpanId), (t.Kind, t.ParentSpanId)));
        Assert.Equal(traceSenderAddress ? ["a@b.c", "b@b.c"] : [null, null], transactions.Select(t => (string?)t.GetTagItem("smtpd.mail_from")));
        Assert.Equal([1, 2], transactions.Select(t => (int)t.GetTagItem("smtpd.transaction.number")!));
        Assert.Equal(1, transactions[0].GetTagItem("smtpd.transaction.recipient_count"));
        Assert.Equal(("tcp", "ipv4", "127.0.0.1"), (session.GetTagItem("network.transport"), session.GetTagItem("network.type"), session.GetTagItem("server.address")));
    }

    [Fact]
    public async Task Handlers_of_a_transaction_run_under_its_activity()
    {
        // Issue 11, bug 8: the transaction activity was started inside an async method and never became
        // Activity.Current, so spans the handlers started were children of the session.
        using var handlerSource = new ActivitySource("Smtpd.Tests.Handlers");
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is SmtpTelemetry.ActivitySourceName or "Smtpd.Tests.Handlers",
            Sample = (ref ActivityCreationOptions<ActivityContext> options) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        string? rcptParent = null;
        string? dataParent = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.OnRcptTo = (a, s, ct) =>
            {
                using Activity? span = handlerSource.StartActivity("check recipient");
                rcptParent = span?.Parent?.OperationName;
                return default;
            };
            o.OnData = async (message, s, ct) =>
            {
                using Activity? span = handlerSource.StartActivity("store message");
                dataParent = span?.Parent?.OperationName;
                await message.CopyToAsync(Stream.Null, ct);
                return SmtpResult.Accept();
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("DATA");
        await client.SendAsync("hello\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("smtpd.transaction", rcptParent);
        Assert.Equal("smtpd.transaction", dataParent);
    }
}
