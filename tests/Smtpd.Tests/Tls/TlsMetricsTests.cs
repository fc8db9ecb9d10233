using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Smtpd.Tests.Tls;

public class TlsMetricsTests
{
    [Fact]
    public async Task Handshakes_and_tls_refusals_are_measured()
    {
        using var meters = new TestMeterFactory();
        var measurements = new ConcurrentQueue<(string Instrument, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (meters.Meters.Contains(instrument.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, _, tags, _) => measurements.Enqueue((i.Name, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => measurements.Enqueue((i.Name, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        await using var server = await TestServer.StartAsync(o =>
        {
            o.MeterFactory = meters;
            o.Secure = true;
            o.Certificate = TestPki.Shared.Server;
            o.OnSecure = (session, _) => new(session.ServerName == "no.example" ? SmtpResult.Reject(554, "no") : SmtpResult.Accept());
        });
        await using (var good = await TlsTestClient.ConnectImplicitAsync(server.EndPoint))
        {
            Assert.Equal(221, (await good.CommandAsync("QUIT")).Code);
        }

        await using (var refused = await TlsTestClient.ConnectImplicitAsync(server.EndPoint, "no.example", readGreeting: false))
        {
            Assert.Equal(554, (await refused.ReadReplyAsync()).Code);
        }

        await using (var garbage = await RawClient.ConnectAsync(server.EndPoint))
        {
            await garbage.SendAsync("EHLO x\r\n");
            Assert.True(await garbage.IsClosedAsync());
        }

        DateTime end = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < end && !measurements.Any(m => m.Instrument == "smtpd.refused_connections" && Equals(m.Tags["smtpd.refusal.reason"], "tls_handshake")))
        {
            await Task.Delay(20);
        }

        var handshakes = measurements.Where(m => m.Instrument == "smtpd.tls.handshakes").ToList();
        Assert.Equal(2, handshakes.Count(m => Equals(m.Tags.GetValueOrDefault("tls.protocol.version"), "1.3")));
        Assert.Single(handshakes, m => m.Tags.ContainsKey("error.type"));
        Assert.Equal(3, measurements.Count(m => m.Instrument == "smtpd.tls.handshake.duration"));
        var refusals = measurements.Where(m => m.Instrument == "smtpd.refused_connections").Select(m => m.Tags["smtpd.refusal.reason"]).ToList();
        Assert.Contains("secure_handler", refusals);
        Assert.Contains("tls_handshake", refusals);
    }
}
