using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Smtpd.Tests.Hosting;

/// <summary><c>AddHealthChecks().AddSmtpServerCheck()</c>: healthy while listening, unhealthy before and while stopping.</summary>
public class HealthCheckTests
{
    private static IHost Build(string failureTag = "ready")
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Smtp:listen"] = "127.0.0.1:0",
            ["Smtp:greetingDelay"] = "0",
            ["Smtp:closeTimeout"] = "5000",
        });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        builder.Services.AddHealthChecks().AddSmtpServerCheck(tags: [failureTag]);
        return builder.Build();
    }

    private static async Task<HealthReportEntry> CheckAsync(IHost host)
    {
        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return Assert.Single(report.Entries, e => e.Key == "smtp").Value;
    }

    [Fact]
    public async Task Healthy_while_listening_and_unhealthy_before_start_and_once_stopping()
    {
        using IHost host = Build();
        HealthReportEntry before = await CheckAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal("Not listening", before.Description);
        Assert.Equal(["ready"], before.Tags);

        await host.StartAsync();
        var endPoint = (IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single();
        HealthReportEntry running = await CheckAsync(host);
        Assert.Equal(HealthStatus.Healthy, running.Status);
        Assert.Equal($"Listening on {endPoint}", running.Description);
        Assert.Equal(new[] { endPoint.ToString() }, (string[])running.Data["endpoints"]);

        // A session stays open, so the server is still closing when the check runs again.
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        await ReadGreetingAsync(client);
        host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        HealthReportEntry stopping = await CheckAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, stopping.Status);
        Assert.Equal("Shutting down", stopping.Description);
        Assert.Equal(1, (int)stopping.Data["connections"]);

        Task stopped = host.StopAsync();
        Assert.Equal("Shutting down", (await CheckAsync(host)).Description);
        client.Close();
        await stopped;
    }

    [Fact]
    public async Task Closing_the_server_itself_makes_it_unhealthy()
    {
        using IHost host = Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<SmtpServer>().CloseAsync();
        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(host)).Status);
        await host.StopAsync();
    }

    private static async Task ReadGreetingAsync(TcpClient client)
    {
        var buffer = new byte[512];
        int read = await client.GetStream().ReadAsync(buffer);
        Assert.StartsWith("220 ", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }
}
