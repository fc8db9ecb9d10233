using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Smtpd.Tests.Auth;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Telemetry;

/// <summary>What a dotnet-counters user sees: every instrument that docs/telemetry.md names is published and moves.</summary>
public partial class TelemetryDocumentationTests
{
    [GeneratedRegex(@"^\| `(smtpd\.[a-z_.]+)` \|", RegexOptions.Multiline)]
    private static partial Regex InstrumentRow();

    private static string RepositoryFile(string relative) => Smtpd.Tests.RepositoryFile.PathOf(relative);

    [Fact]
    public async Task Every_documented_instrument_is_published_and_measured()
    {
        string[] documented = InstrumentRow().Matches(File.ReadAllText(RepositoryFile("docs/telemetry.md"))).Select(m => m.Groups[1].Value).ToArray();
        Assert.True(documented.Length >= 11, $"docs/telemetry.md lists {documented.Length} instruments");

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
        listener.SetMeasurementEventCallback<long>((i, _, _, _) => measured[i.Name] = true);
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => measured[i.Name] = true);
        listener.Start();

        await using (var server = await TestServer.StartAsync(o =>
        {
            o.MeterFactory = meters;
            o.MaxClients = 1;
            o.Certificate = TestPki.Shared.Server;
            o.AuthMethods = [SmtpAuthMethods.Plain];
            o.OnAuth = new SmtpPasswordAuthenticator(new Dictionary<string, string> { [AuthServer.User] = AuthServer.Password }).AuthenticateAsync;
            o.MaxAuthFailuresPerClient = 1;
            o.AuthFailureDelay = TimeSpan.Zero;
            o.AllowInsecureAuth = true;
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

            // A failure, then the per-address limit (smtpd.auth.rate_limited).
            await using (var guesser = await server.ConnectAsync())
            {
                await guesser.CommandAsync("EHLO x");
                Assert.Equal(535, (await guesser.CommandAsync("AUTH PLAIN " + AuthServer.Base64($"\0{AuthServer.User}\0wrong"))).Code);
                Assert.Equal(454, (await guesser.CommandAsync("AUTH PLAIN " + AuthServer.PlainToken)).Code);
                Assert.Equal(221, (await guesser.CommandAsync("QUIT")).Code);
            }

            await Connections.ConnectionManagementTests.WaitUntil(() => measured.ContainsKey("smtpd.connection.duration") && server.Server.ConnectionCount == 0);
        }

        Assert.All(documented, name => Assert.True(published.ContainsKey(name), $"{name} is documented but not published"));
        Assert.All(documented, name => Assert.True(measured.ContainsKey(name), $"{name} is documented but recorded nothing"));
        Assert.All(published.Keys, name => Assert.Contains(name, documented));
    }
}
