using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Smtpd.Tests.Auth;

/// <summary>AUTH decisions move the <c>smtpd.auth.attempts</c> counter, tagged by mechanism and result.</summary>
public class AuthMetricsTests
{
    [Fact]
    public async Task Successes_and_refusals_are_counted_by_mechanism()
    {
        using var factory = new TestMeterFactory();
        var attempts = new ConcurrentQueue<(string Mechanism, string Result)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "smtpd.auth.attempts" && factory.Meters.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var map = tags.ToArray().ToDictionary(t => t.Key, t => (string)t.Value!);
            attempts.Enqueue((map["smtpd.auth.mechanism"], map["smtpd.auth.result"]));
        });
        listener.Start();

        await using TestServer server = await AuthServer.StartAsync(o => o.MeterFactory = factory);
        await using RawClient client = await server.ConnectAndGreetAsync();
        Assert.Equal(334, (await client.CommandAsync("AUTH LOGIN dXNlcg==")).Code);
        Assert.Equal(535, (await client.CommandAsync("d3Jvbmc=")).Code);
        Assert.Equal(501, (await client.CommandAsync("AUTH PLAIN AAAA")).Code);
        Assert.Equal(235, (await client.CommandAsync($"AUTH PLAIN {AuthServer.PlainToken}")).Code);
        Assert.Equal([("LOGIN", "failure"), ("PLAIN", "success")], attempts.ToArray());
    }
}
