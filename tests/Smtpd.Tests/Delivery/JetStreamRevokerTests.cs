using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Smtpd.Server.Delivery;

namespace Smtpd.Tests.Delivery;

/// <summary>
/// The revocation of messages answered 451, against a real nats-server: whether a publish of the message reached the
/// stream (its acknowledgement was lost) or not, nothing under its id is left for a consumer, and the acknowledged
/// messages stay.
/// </summary>
public class JetStreamRevokerTests
{
    [Fact]
    public async Task A_revoked_id_leaves_nothing_in_the_stream_whether_its_publish_reached_it_or_not()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        await using NatsConnection connection = nats.Connect();
        await connection.ConnectAsync();
        var js = new NatsJSContext(connection);
        await js.CreateStreamAsync(new StreamConfig("MAIL", ["mail.in"]) { Retention = StreamConfigRetention.Workqueue, DuplicateWindow = TimeSpan.FromMinutes(2) });

        // Sequence 1: stored although its acknowledgement never reached the program, which answered 451.
        // Sequence 2: acknowledged (250); it must stay.
        Assert.Equal(1ul, (await js.PublishAsync("mail.in", "reached"u8.ToArray(), opts: new NatsJSPubOpts { MsgId = "reached" })).Seq);
        Assert.Equal(2ul, (await js.PublishAsync("mail.in", "kept"u8.ToArray(), opts: new NatsJSPubOpts { MsgId = "kept" })).Seq);

        var settings = new JetStreamSettings([new Uri(nats.Urls)], "MAIL", "mail.in", CreateStream: false, Replicas: 1, TimeSpan.FromSeconds(5), Credentials: null);
        await using (var revoker = new JetStreamRevoker(js, connection, settings, NullLogger.Instance))
        {
            revoker.Start();
            revoker.Revoke("reached");
            revoker.Revoke("never-reached");

            // The marker of "never-reached" is stored as sequence 3, then deleted like sequence 1.
            await JetStreamTestSupport.WaitUntilAsync(
                async () => (await js.GetStreamAsync("MAIL")).Info.State is { Messages: 1, LastSeq: 3 }, "both ids are revoked", TimeSpan.FromSeconds(30));
        }

        StreamState state = (await js.GetStreamAsync("MAIL")).Info.State;
        Assert.Equal((1L, 2ul), (state.Messages, state.FirstSeq));

        // A copy of a revoked message arriving late (a publish the client still had buffered) is a duplicate, not stored.
        PubAckResponse late = await js.PublishAsync("mail.in", "late"u8.ToArray(), opts: new NatsJSPubOpts { MsgId = "never-reached" });
        Assert.True(late.Duplicate);
        Assert.Equal(1L, (await js.GetStreamAsync("MAIL")).Info.State.Messages);
    }
}
