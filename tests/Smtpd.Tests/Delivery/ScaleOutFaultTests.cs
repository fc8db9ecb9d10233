using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Smtpd.Tests.Proxy;
using Smtpd.Tests.Server;
using Xunit.Abstractions;
using StoredMessage = Smtpd.Tests.Server.StoredMessage;

namespace Smtpd.Tests.Delivery;

/// <summary>
/// The scale-out of docs/scale-out.md under a fault: a 3-node NATS cluster with a stream of 3 replicas, two program
/// instances behind HAProxy (PROXY v2, health-checked on <c>/healthz</c>), clients on several loopback addresses, and
/// the stream leader killed and restarted while they send. Every message that got 250 is in the stream exactly once
/// with its real client address; nothing else is; no client sees a 5xx.
/// </summary>
public partial class ScaleOutFaultTests(ITestOutputHelper output)
{
    private const int Messages = 2000;
    private static readonly IPAddress[] Clients = new[] { "127.0.0.2", "127.0.0.4", "127.0.0.5", "127.0.0.6" }.Select(IPAddress.Parse).ToArray();

    [Fact]
    public async Task Every_acknowledged_message_is_in_the_stream_once_with_its_client_address_while_a_nats_node_is_killed()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync(3);
        int[] admin = [JetStreamTestSupport.FreePort(), JetStreamTestSupport.FreePort()];
        await using ServerProcess first = await StartInstanceAsync(nats, "mx1.test", admin[0]);
        await using ServerProcess second = await StartInstanceAsync(nats, "mx2.test", admin[1]);
        await using HaproxyProcess haproxy = await HaproxyProcess.StartAsync(
            first.EndPoint.Port,
            $"send-proxy-v2 check port {admin[0]} inter 500",
            backendLines: $"""
                    balance roundrobin
                    option httpchk GET /healthz
                    server s2 127.0.0.1:{second.EndPoint.Port} send-proxy-v2 check port {admin[1]} inter 500
                """);

        var outcomes = new ConcurrentBag<Outcome>();
        int sent = 0;
        var clock = Stopwatch.StartNew();
        Task[] workers = Enumerable.Range(0, Clients.Length * 2)
            .Select(worker => Task.Run(() => SendAsync(haproxy.EndPoint, Clients[worker % Clients.Length], worker, () => Interlocked.Increment(ref sent) <= Messages, outcomes)))
            .ToArray();

        // A third of the way in, kill the stream's leader (of a stream with 3 replicas); two thirds in, start it again.
        await ServerProcess.WaitUntilAsync(() => outcomes.Count >= Messages / 3, "a third of the messages are answered", TimeSpan.FromMinutes(2));
        int leader = await StreamLeaderAsync(nats);
        TimeSpan killedAt = clock.Elapsed;
        nats.Kill(leader);
        await ServerProcess.WaitUntilAsync(() => outcomes.Count >= 2 * Messages / 3, "two thirds of the messages are answered", TimeSpan.FromMinutes(2));
        TimeSpan restartedAt = clock.Elapsed;
        nats.Restart(leader);
        await Task.WhenAll(workers);
        TimeSpan elapsed = clock.Elapsed;

        Outcome[] all = outcomes.ToArray();
        Dictionary<string, Outcome> accepted = all.Where(o => o.Code == 250).ToDictionary(o => o.Id!);
        Assert.Equal(Messages, all.Length);
        Assert.DoesNotContain(all, o => o.Code >= 500);

        // The stream holds the acknowledged messages exactly (a refused one that reached it is revoked within seconds).
        await using NatsConnection connection = nats.Connect();
        var js = new NatsJSContext(connection);
        long stored = 0;
        try
        {
            await JetStreamTestSupport.WaitUntilAsync(async () => (stored = (await js.GetStreamAsync("MAIL")).Info.State.Messages) == accepted.Count, "revocations are done", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Asserted below, with the figures.
        }
        output.WriteLine($"{Messages} messages in {elapsed.TotalSeconds:F1} s from {Clients.Length} addresses; node n{leader + 1} (stream leader) killed at {killedAt.TotalSeconds:F1} s, restarted at {restartedAt.TotalSeconds:F1} s");
        output.WriteLine($"250: {accepted.Count}; 4xx: {all.Count(o => o.Code is >= 400 and < 500)}; no reply: {all.Count(o => o.Code == 0)}; in the stream: {stored}; revoked: {Regex.Count(first.StandardOutput + second.StandardOutput, "Revoked ")}");
        Assert.Equal(accepted.Count, stored);

        string inbox = await JetStreamTestSupport.DrainAsync(nats.Urls);
        string[] ids = JetStreamTestSupport.PairIds(inbox);
        Assert.Equal(accepted.Keys.Order(StringComparer.Ordinal), ids);
        var instances = new HashSet<string>();
        foreach (string id in ids)
        {
            StoredMessage message = StoredMessage.Read(inbox, id);
            Outcome outcome = accepted[id];
            Assert.Equal(outcome.Client.ToString(), message.Envelope.GetProperty("remoteAddress").GetString());
            Assert.Contains($"Received: from client.example ([{outcome.Client}])\r\n", message.Trace);
            Assert.Contains($"X-Test-Message: {outcome.Tag}\r\n", System.Text.Encoding.ASCII.GetString(message.Body));
            instances.Add(ByLine().Match(message.Trace).Groups[1].Value);
        }

        Assert.Equal(["mx1.test", "mx2.test"], instances.Order(StringComparer.Ordinal));
        Assert.False(first.Process.HasExited || second.Process.HasExited);
    }

    private static async Task<ServerProcess> StartInstanceAsync(NatsCluster nats, string name, int admin) =>
        await ServerProcess.StartAsync(new()
        {
            ["name"] = name,
            ["store"] = nats.Urls,
            ["nats"] = new Dictionary<string, object?> { ["replicas"] = 3 },
            ["admin"] = $"127.0.0.1:{admin}",
            ["useProxy"] = new[] { HaproxyProcess.SourceAddress.ToString() },
            ["disableReverseLookup"] = true,
            ["greetingDelay"] = 0,
        });

    /// <summary>One client connection at a time from <paramref name="client"/>, sending messages while <paramref name="next"/> says so.</summary>
    private static async Task SendAsync(IPEndPoint server, IPAddress client, int worker, Func<bool> next, ConcurrentBag<Outcome> outcomes)
    {
        RawClient? connection = null;
        int n = 0;
        try
        {
            while (next())
            {
                string tag = $"w{worker}-{++n}";
                try
                {
                    connection ??= await ConnectAsync(server, client);
                    Assert.Equal(250, (await connection.CommandAsync("MAIL FROM:<" + tag + "@example.com>")).Code);
                    Assert.Equal(250, (await connection.CommandAsync("RCPT TO:<rcpt@example.org>")).Code);
                    Assert.Equal(354, (await connection.CommandAsync("DATA")).Code);
                    await connection.SendAsync($"Subject: {tag}\r\nX-Test-Message: {tag}\r\n\r\n{new string('s', 1000)}\r\n.\r\n");
                    Reply reply = await connection.ReadReplyAsync(TimeSpan.FromSeconds(30));
                    string? id = reply.Code == 250 ? reply.Line["250 OK: message queued as ".Length..] : null;
                    outcomes.Add(new Outcome(tag, client, reply.Code, id));
                }
                catch (Exception ex) when (ex is IOException or SocketException or TimeoutException or ObjectDisposedException)
                {
                    // No reply (the connection broke): not acknowledged, so it must not be in the stream either.
                    outcomes.Add(new Outcome(tag, client, 0, null));
                    if (connection is not null)
                    {
                        await connection.DisposeAsync();
                        connection = null;
                    }
                }
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static async Task<RawClient> ConnectAsync(IPEndPoint server, IPAddress client)
    {
        RawClient connection = await RawClient.ConnectFromAsync(client, server);
        Assert.Equal(220, (await connection.ReadReplyAsync(TimeSpan.FromSeconds(10))).Code);
        Assert.Equal(250, (await connection.CommandAsync("EHLO client.example")).Code);
        return connection;
    }

    private static async Task<int> StreamLeaderAsync(NatsCluster nats)
    {
        await using NatsConnection connection = nats.Connect();
        NATS.Client.JetStream.Models.StreamInfo info = (await new NatsJSContext(connection).GetStreamAsync("MAIL")).Info;
        Assert.Equal(3, info.Config.NumReplicas);
        Assert.Equal(2, info.Cluster!.Replicas!.Count);
        string leader = info.Cluster.Leader!;
        return int.Parse(leader[1..], System.Globalization.CultureInfo.InvariantCulture) - 1;
    }

    [GeneratedRegex(@"\tby (\S+) with ")]
    private static partial Regex ByLine();

    private sealed record Outcome(string Tag, IPAddress Client, int Code, string? Id);
}
