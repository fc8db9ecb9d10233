using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Smtpd.Tests.Auth;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Telemetry;

/// <summary>
/// What a dotnet-counters or OpenTelemetry user sees: every instrument that docs/telemetry.md names is published and
/// moves, every attribute recorded on an instrument or span is in its attribute table, and every attribute there is recorded.
/// </summary>
public partial class TelemetryDocumentationTests
{
    [GeneratedRegex(@"^\| `(smtpd\.[a-z_.]+)` \|", RegexOptions.Multiline)]
    private static partial Regex InstrumentRow();

    [GeneratedRegex(@"^\| `([a-z_.]+)` \|", RegexOptions.Multiline)]
    private static partial Regex AttributeRow();

    private static string RepositoryFile(string relative) => Smtpd.Tests.RepositoryFile.PathOf(relative);

    /// <summary>The text under a second-level heading, up to the next one.</summary>
    private static string Section(string doc, string heading)
    {
        int start = doc.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/telemetry.md has no '{heading}' section");
        int end = doc.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? doc[start..] : doc[start..end];
    }

    [Fact]
    public async Task Every_documented_instrument_and_attribute_is_recorded_and_nothing_else()
    {
        string doc = File.ReadAllText(RepositoryFile("docs/telemetry.md"));
        string[] documented = InstrumentRow().Matches(Section(doc, "## Metrics")).Select(m => m.Groups[1].Value).ToArray();
        Assert.True(documented.Length >= 11, $"docs/telemetry.md lists {documented.Length} instruments");
        string[] documentedAttributes = AttributeRow().Matches(Section(doc, "## Attributes")).Select(m => m.Groups[1].Value).ToArray();
        Assert.True(documentedAttributes.Length >= 20, $"docs/telemetry.md lists {documentedAttributes.Length} attributes");

        var attributes = new ConcurrentDictionary<string, string>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SmtpTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                foreach (KeyValuePair<string, object?> tag in activity.TagObjects)
                {
                    attributes[tag.Key] = activity.OperationName;
                }
            },
        };
        ActivitySource.AddActivityListener(activities);

        using var meters = new TestMeterFactory();
        var published = new ConcurrentDictionary<string, bool>();
        var measured = new ConcurrentDictionary<string, bool>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (meters.Meters.Contains(instrument.Meter) && instrument.Meter.Name == SmtpTelemetry.MeterName)
                {
                    published[instrument.Name] = true;
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, _, tags, _) => Measured(i, tags));
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => Measured(i, tags));
        listener.Start();

        void Measured(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            measured[instrument.Name] = true;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                attributes[tag.Key] = instrument.Name;
            }
        }

        await using (var server = await TestServer.StartAsync(o =>
        {
            o.MeterFactory = meters;
            o.MaxClients = 1;
            o.TraceSenderAddress = true;
            o.Certificate = TestPki.Shared.Server;
            o.AuthMethods = [SmtpAuthMethods.Plain];
            o.OnAuth = new SmtpPasswordAuthenticator(new Dictionary<string, string> { [AuthServer.User] = AuthServer.Password }).AuthenticateAsync;
        }))
        {
            await using (var client = await TlsTestClient.ConnectAsync(server.EndPoint))
            {
                Assert.Equal(220, (await client.ReadReplyAsync()).Code);
                await client.CommandAsync("EHLO x");
                Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
                await client.HandshakeAsync();
                await client.CommandAsync("EHLO x");
                Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + AuthServer.PlainToken)).Code);
                Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
                Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@b.c>")).Code);
                Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
                Assert.Equal(250, (await client.CommandAsync("hello\r\n.")).Code);

                await using (var refused = await server.ConnectAsync(readGreeting: false))
                {
                    Assert.Equal(421, (await refused.ReadReplyAsync()).Code);
                }

                Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
            }

            // A handshake that fails: error.type.
            await Connections.ConnectionManagementTests.WaitUntil(() => server.Server.ConnectionCount == 0);
            await using (var broken = await TlsTestClient.ConnectAsync(server.EndPoint))
            {
                Assert.Equal(220, (await broken.ReadReplyAsync()).Code);
                await broken.CommandAsync("EHLO x");
                Assert.Equal(220, (await broken.CommandAsync("STARTTLS")).Code);
                await broken.SendAsync("this is not a TLS ClientHello\r\n");
                await Connections.ConnectionManagementTests.WaitUntil(() => attributes.ContainsKey("error.type"));
            }

            await Connections.ConnectionManagementTests.WaitUntil(() => measured.ContainsKey("smtpd.connection.duration") && server.Server.ConnectionCount == 0);
        }

        Assert.All(documented, name => Assert.True(published.ContainsKey(name), $"{name} is documented but not published"));
        Assert.All(documented, name => Assert.True(measured.ContainsKey(name), $"{name} is documented but recorded nothing"));
        Assert.All(published.Keys, name => Assert.Contains(name, documented));
        Assert.All(attributes, a => Assert.True(documentedAttributes.Contains(a.Key), $"{a.Key} (on {a.Value}) is recorded but not in the attribute table"));
        Assert.All(documentedAttributes, name => Assert.True(attributes.ContainsKey(name), $"{name} is documented but never recorded"));
    }
}
