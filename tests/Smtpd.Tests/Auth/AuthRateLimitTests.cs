using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;

namespace Smtpd.Tests.Auth;

/// <summary>AUTH brute force (issue 12 item 3): failures per client address across connections, a growing pause, logs and a metric.</summary>
public class AuthRateLimitTests
{
    private static readonly string Token = AuthServer.PlainToken;

    private static string Wrong(int i) => AuthServer.Base64($"\0user\0guess{i}");

    [Fact]
    public async Task By_default_ten_failures_from_one_address_over_many_connections_get_454_for_the_next_AUTH()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.HideEnhancedStatusCodes = false);
        int refusals = 0;
        Reply? limited = null;
        for (int connection = 0; connection < 6 && limited is null; connection++)
        {
            await using RawClient client = await server.ConnectAndGreetAsync();
            for (int i = 0; i < 3; i++)
            {
                Reply reply = await client.CommandAsync($"AUTH PLAIN {Wrong(refusals)}");
                if (reply.Code != 535)
                {
                    limited = reply;
                    break;
                }

                refusals++;
            }
        }

        Assert.Equal(10, refusals);
        Assert.Equal("454 4.7.0 Error: too many failed authentications from 127.0.0.1, try again later", limited!.Line);
    }

    [Fact]
    public async Task A_limited_address_is_refused_even_the_right_password_until_its_window_passes_and_others_are_not()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.MaxAuthFailuresPerClient = 3;
            o.AuthFailureWindow = TimeSpan.FromSeconds(4);
            o.MaxAuthFailures = 0;
        });
        Stopwatch? clock = null;
        await using (RawClient client = await server.ConnectAndGreetAsync())
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {Wrong(i)}")).Code);

                // The window opened before the first refusal was sent: from its arrival, 4 s are at least the window.
                clock ??= Stopwatch.StartNew();
            }

            Assert.Equal("454 Error: too many failed authentications from 127.0.0.1, try again later", (await client.CommandAsync($"AUTH PLAIN {Token}")).Line);

            // The connection goes on: only AUTH is refused.
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }

        await using (RawClient other = await RawClient.ConnectFromAsync(IPAddress.Parse("127.0.0.2"), server.EndPoint))
        {
            Assert.Equal(220, (await other.ReadReplyAsync()).Code);
            await other.CommandAsync("EHLO other.example");
            Assert.Equal(235, (await other.CommandAsync($"AUTH PLAIN {Token}")).Code);
        }

        await using RawClient later = await server.ConnectAndGreetAsync();
        Assert.Equal(454, (await later.CommandAsync($"AUTH PLAIN {Token}")).Code);
        await Task.Delay(TimeSpan.FromSeconds(4.2) - clock!.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
        Assert.Equal(235, (await later.CommandAsync($"AUTH PLAIN {Token}")).Code);
    }

    [Fact]
    public async Task The_pause_before_a_refusal_grows_with_each_failure_on_the_connection()
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthFailureDelay = TimeSpan.FromMilliseconds(250);
            o.MaxAuthFailures = 0;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        for (int i = 1; i <= 3; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {Wrong(i)}")).Code);
            Assert.True(clock.ElapsedMilliseconds >= 250 * i - 20, $"failure {i} answered after {clock.ElapsedMilliseconds} ms");
        }

        var success = Stopwatch.StartNew();
        Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
        Assert.True(success.ElapsedMilliseconds < 250, "a success is not delayed");
    }

    [Fact]
    public async Task A_wrong_user_and_a_wrong_password_get_the_same_reply_pause_and_count()
    {
        var logger = new ListLogger();
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.Logger = logger;
            o.AuthFailureDelay = TimeSpan.FromMilliseconds(200);
            o.MaxAuthFailuresPerClient = 2;
            o.AuthMethods = ["PLAIN", "CRAM-MD5"];
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        var replies = new List<string>();
        foreach (string token in new[] { AuthServer.Base64("\0nobody\0pass"), AuthServer.Base64("\0user\0wrong") })
        {
            var clock = Stopwatch.StartNew();
            replies.Add((await client.CommandAsync($"AUTH PLAIN {token}")).Line);
            Assert.True(clock.ElapsedMilliseconds >= 180 * replies.Count, $"refusal {replies.Count} answered after {clock.ElapsedMilliseconds} ms");
        }

        Assert.Equal(replies[0], replies[1]);
        Assert.Equal(454, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
        Assert.Equal(2, logger.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("Authentication failed for 127.0.0.1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task One_mistyped_password_tried_by_MailKit_over_every_mechanism_ends_in_535_and_the_connection_stays()
    {
        var log = new MemoryStream();
        await using TestServer server = await AuthServer.StartAsync(o => o.AuthMethods = ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"]);
        using var client = new SmtpClient(new MailKit.ProtocolLogger(log, leaveOpen: true));
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(AuthServer.User, "pasz"));
        string transcript = System.Text.Encoding.UTF8.GetString(log.ToArray());
        Assert.True(System.Text.RegularExpressions.Regex.Count(transcript, "S: 535 ") >= 3, transcript);
        Assert.DoesNotContain("S: 421", transcript, StringComparison.Ordinal);

        // The user corrects the password on the same connection.
        Assert.True(client.IsConnected);
        await client.AuthenticateAsync(AuthServer.User, AuthServer.Password);
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Guesses_over_several_mechanisms_count_apart_when_their_secrets_differ()
    {
        await using TestServer server = await AuthServer.StartAsync(o => o.AuthMethods = ["PLAIN", "LOGIN", "CRAM-MD5"]);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {AuthServer.Base64("\0user\0one")}")).Code);
        Assert.Equal(334, (await client.CommandAsync("AUTH LOGIN " + AuthServer.Base64("user"))).Code);
        Assert.Equal(535, (await client.CommandAsync(AuthServer.Base64("two"))).Code);
        Reply challenge = await client.CommandAsync("AUTH CRAM-MD5");
        string digest = SmtpAuthRequest.CramMd5Digest("three", AuthServer.FromBase64(challenge.Line[4..]));
        Assert.Equal(535, (await client.CommandAsync(AuthServer.Base64("user " + digest))).Code);
        Assert.Equal(421, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Refusals_for_the_limit_are_counted_in_a_metric_and_logged_once()
    {
        using var factory = new TestMeterFactory();
        var limited = new ConcurrentQueue<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "smtpd.auth.rate_limited" && factory.Meters.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => limited.Enqueue(value));
        listener.Start();
        var logger = new ListLogger();
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.MeterFactory = factory;
            o.Logger = logger;
            o.MaxAuthFailuresPerClient = 1;
        });
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(535, (await client.CommandAsync($"AUTH PLAIN {Wrong(0)}")).Code);
        Assert.Equal(454, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
        Assert.Equal(454, (await client.CommandAsync($"AUTH PLAIN {Token}")).Code);
        Assert.Equal([1L, 1L], limited.ToArray());
        Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("AUTH commands are refused until the window has passed", StringComparison.Ordinal));
    }

    [Fact]
    public void IPv6_clients_count_by_their_64_bit_network()
    {
        Assert.Equal(IPAddress.Parse("2001:db8:1:2::"), AuthFailureLimiter.Key(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
        Assert.Equal(IPAddress.Parse("192.0.2.7"), AuthFailureLimiter.Key(IPAddress.Parse("192.0.2.7")));
        var limiter = new AuthFailureLimiter(2, TimeSpan.FromMinutes(1));
        Assert.False(limiter.Record(IPAddress.Parse("2001:db8::1"), 0));
        Assert.True(limiter.Record(IPAddress.Parse("2001:db8::2"), 0));
        Assert.True(limiter.IsLimited(IPAddress.Parse("2001:db8::ffff"), 1000));
        Assert.False(limiter.IsLimited(IPAddress.Parse("2001:db8:0:1::1"), 1000));
        Assert.False(limiter.IsLimited(IPAddress.Parse("2001:db8::ffff"), 60_000));
    }
}
