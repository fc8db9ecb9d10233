using System.Net;
using System.Text.RegularExpressions;

namespace Smtpd.Tests.Server;

/// <summary>
/// Issue 12 item 1: the server program under a small descriptor limit (<c>prlimit --nofile</c>) with more clients than
/// descriptors. It survives, answers the connections it has no room for with 421 before the limit is near (its message
/// store counted: sessions writing messages finish them), logs the episode once and recovers when clients leave.
/// </summary>
public class ServerDescriptorLimitTests
{
    private const int DescriptorLimit = 320;

    private static IPAddress Loopback(int n) => new([127, 0, 0, (byte)n]);

    [Fact]
    public async Task Under_a_small_descriptor_limit_the_program_refuses_with_421_survives_and_recovers()
    {
        int admin = Delivery.JetStreamTestSupport.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(
            new() { ["disableReverseLookup"] = true, ["greetingDelay"] = 0, ["closeTimeout"] = 1000, ["admin"] = $"127.0.0.1:{admin}" },
            wrap: (program, arguments) => ("prlimit", [$"--nofile={DescriptorLimit}:{DescriptorLimit}", ExternalProcess.Require(program), .. arguments]));
        var idle = new List<RawClient>();
        var writing = new List<RawClient>();
        try
        {
            // Sessions in the middle of a message: each holds its socket and a file of the store.
            for (int i = 0; i < 8; i++)
            {
                RawClient client = await RawClient.ConnectFromAsync(Loopback(2 + i), server.EndPoint);
                writing.Add(client);
                Assert.Equal(220, (await client.ReadReplyAsync()).Code);
                Assert.Equal(250, (await client.CommandAsync("EHLO writer.example")).Code);
                Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com>")).Code);
                Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@example.org>")).Code);
                Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
                await client.SendAsync($"Subject: writer {i}\r\n\r\n" + new string('w', 70_000) + "\r\n");
            }

            // Then more clients than descriptors, from twenty addresses (each below its share of the slots).
            int accepted = 0;
            int refused = 0;
            for (int i = 0; i < DescriptorLimit && refused < 10; i++)
            {
                RawClient client = await RawClient.ConnectFromAsync(Loopback(20 + (i % 20)), server.EndPoint);
                Reply reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
                if (reply.Code == 220)
                {
                    accepted++;
                    idle.Add(client);
                }
                else
                {
                    Assert.Matches(@"^421 \S+ Too many connected clients, try again in a moment$", reply.Line);
                    Assert.True(await client.IsClosedAsync());
                    await client.DisposeAsync();
                    refused++;
                }
            }

            Assert.Equal(10, refused);
            Assert.InRange(accepted, 20, DescriptorLimit / 2);
            Assert.False(server.Process.HasExited, server.StandardOutput + server.StandardError);

            // Counted, with the endpoint they arrived on like every other refusal.
            (int status, string metrics) = await Delivery.JetStreamTestSupport.GetAsync(admin, "/metrics");
            Assert.Equal(200, status);
            string line = Assert.Single(metrics.Split('\n'), l => l.StartsWith("smtpd_refused_connections_total{", StringComparison.Ordinal) && l.Contains("descriptor_limit", StringComparison.Ordinal));
            Assert.Contains($"server_port=\"{server.EndPoint.Port}\"", line, StringComparison.Ordinal);
            Assert.Contains("network_transport=\"tcp\"", line, StringComparison.Ordinal);
            Assert.Matches(@"\} 10( \d+)?$", line);

            // The sessions that were writing finish their messages: the store still has descriptors.
            foreach (RawClient client in writing)
            {
                await client.SendAsync("end\r\n.\r\n");
                Assert.Equal(250, (await client.ReadReplyAsync()).Code);
            }

            Assert.Equal(16, server.StoreEntries().Length);

            // Clients leave; new ones are served again.
            foreach (RawClient client in idle)
            {
                await client.DisposeAsync();
            }

            idle.Clear();
            await using RawClient again = await ConnectWhenServedAsync(server);
            Assert.Equal(250, (await again.CommandAsync("EHLO again.example")).Code);
            Assert.Equal(250, (await again.CommandAsync("MAIL FROM:<s@example.com>")).Code);
            Assert.Equal(250, (await again.CommandAsync("RCPT TO:<r@example.org>")).Code);
            Assert.Equal(354, (await again.CommandAsync("DATA")).Code);
            await again.SendAsync("Subject: after\r\n\r\nrecovered\r\n.\r\n");
            Assert.Equal(250, (await again.ReadReplyAsync()).Code);
            Assert.Equal(18, server.StoreEntries().Length);

            // One line for the episode of refusals, one for its end.
            await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Contains("Accepting connections again", StringComparison.Ordinal), "the end of the episode is logged");
            Assert.Single(Regex.Matches(server.StandardOutput, "Refusing new connections with 421"));
            Assert.Single(Regex.Matches(server.StandardOutput, "Accepting connections again"));
            Assert.DoesNotContain("Out of memory", server.StandardOutput + server.StandardError, StringComparison.Ordinal);

            await server.SignalAsync("TERM");
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            foreach (RawClient client in idle.Concat(writing))
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Connects until the server greets (connections it still closes may linger for a moment).</summary>
    private static async Task<RawClient> ConnectWhenServedAsync(ServerProcess server)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            RawClient client = await RawClient.ConnectFromAsync(Loopback(50), server.EndPoint);
            Reply reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
            if (reply.Code == 220)
            {
                return client;
            }

            await client.DisposeAsync();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the server did not serve new clients again");
            await Task.Delay(200);
        }
    }
}
