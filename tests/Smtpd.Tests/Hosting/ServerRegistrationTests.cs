using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Smtpd.Hosting;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Hosting;

/// <summary>
/// <c>AddSmtpServer</c> registrations: the code-only overload, one server with several endpoints from configuration,
/// several servers under names, and the registrations that cannot be honoured (never merged).
/// </summary>
public class ServerRegistrationTests
{
    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Fact]
    public async Task The_action_overload_configures_a_server_in_code()
    {
        HostApplicationBuilder builder = Builder([]);
        builder.Services.AddSmtpServer(o =>
        {
            o.Name = "code.test";
            o.GreetingDelay = TimeSpan.Zero;
            o.DisableReverseLookup = true;
        });
        builder.Services.Configure<SmtpHostingOptions>(h => h.EndPoints.Add(new IPEndPoint(IPAddress.Loopback, 0)));
        using IHost host = builder.Build();
        await host.StartAsync();
        var endPoint = (IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single();
        await using RawClient client = await RawClient.ConnectAsync(endPoint);
        Assert.StartsWith("220 code.test ESMTP", (await client.ReadReplyAsync()).Line, StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task One_server_serves_several_endpoints_each_with_its_own_settings_from_configuration()
    {
        HostApplicationBuilder builder = Builder(new()
        {
            ["Smtp:name"] = "mx.test",
            ["Smtp:greetingDelay"] = "0",
            ["Smtp:disableReverseLookup"] = "true",
            ["Smtp:authOptional"] = "true",
            ["Smtp:listen:0"] = "127.0.0.1:0",
            ["Smtp:listen:1:address"] = "127.0.0.1:0",
            ["Smtp:listen:1:secure"] = "true",
            ["Smtp:listen:1:authOptional"] = "false",
        });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"), o => o.Certificate = TestPki.Shared.Server);
        using IHost host = builder.Build();
        await host.StartAsync();
        IPEndPoint[] endPoints = [.. host.Services.GetRequiredService<SmtpServer>().EndPoints.Cast<IPEndPoint>()];
        Assert.Equal(2, endPoints.Length);

        // Port 25 style: plaintext, mail without AUTH.
        await using (RawClient mx = await RawClient.ConnectAsync(endPoints[0]))
        {
            Assert.Equal(220, (await mx.ReadReplyAsync()).Code);
            Assert.Equal(250, (await mx.CommandAsync("EHLO client.test")).Code);
            Assert.Equal(250, (await mx.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        }

        // Port 465 style: TLS from the first byte, AUTH required.
        await using (TlsTestClient submission = await TlsTestClient.ConnectImplicitAsync(endPoints[1]))
        {
            Assert.Equal(250, (await submission.CommandAsync("EHLO client.test")).Code);
            Assert.Equal(530, (await submission.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task Named_servers_run_side_by_side_with_settings_of_their_own()
    {
        HostApplicationBuilder builder = Builder(new()
        {
            ["Mx:name"] = "mx.test",
            ["Mx:listen"] = "127.0.0.1:0",
            ["Mx:greetingDelay"] = "0",
            ["Mx:authOptional"] = "true",
            ["Submission:name"] = "submission.test",
            ["Submission:listen"] = "127.0.0.1:0",
            ["Submission:greetingDelay"] = "0",
            ["Submission:secure"] = "true",
        });
        builder.Services.AddSmtpServer("mx", builder.Configuration.GetSection("Mx"));
        builder.Services.AddSmtpServer("submission", builder.Configuration.GetSection("Submission"), o => o.Certificate = TestPki.Shared.Server);
        builder.Services.AddHealthChecks().AddSmtpServerCheck();
        using IHost host = builder.Build();
        HealthReport before = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal("Not listening ('mx')", before.Entries["smtp"].Description);

        await host.StartAsync();
        SmtpServer mx = host.Services.GetRequiredKeyedService<SmtpServer>("mx");
        SmtpServer submission = host.Services.GetRequiredKeyedService<SmtpServer>("submission");
        Assert.NotSame(mx, submission);
        Assert.Null(host.Services.GetService<SmtpServer>());

        // The submission settings stay on the submission server: the MX greets in plaintext without AUTH required.
        Assert.False(mx.Options.Secure);
        Assert.True(mx.Options.AuthOptional);
        Assert.False(submission.Options.AuthOptional);
        await using (RawClient client = await RawClient.ConnectAsync((IPEndPoint)mx.EndPoints.Single()))
        {
            Assert.StartsWith("220 mx.test ESMTP", (await client.ReadReplyAsync()).Line, StringComparison.Ordinal);
        }

        await using (TlsTestClient client = await TlsTestClient.ConnectImplicitAsync((IPEndPoint)submission.EndPoints.Single(), readGreeting: false))
        {
            Assert.StartsWith("220 submission.test ESMTP", (await client.ReadReplyAsync()).Line, StringComparison.Ordinal);
        }

        HealthReport running = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, running.Status);
        Assert.Equal(2, ((string[])running.Entries["smtp"].Data["endpoints"]).Length);
        await host.StopAsync();
    }

    [Fact]
    public void A_second_unnamed_registration_is_refused_instead_of_merged()
    {
        var services = new ServiceCollection();
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mx:listen"] = "0.0.0.0:25",
            ["Submission:listen"] = "0.0.0.0:465",
            ["Submission:secure"] = "true",
        }).Build();
        services.AddSmtpServer(configuration.GetSection("Mx"));
        var error = Assert.Throws<InvalidOperationException>(() => services.AddSmtpServer(configuration.GetSection("Submission")));
        Assert.StartsWith("AddSmtpServer: the unnamed server (SmtpServer) is already registered, and two configurations are never merged into one server.", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddSmtpServer(\"mx\", …)", error.Message, StringComparison.Ordinal);

        // Whatever the overload or the server type.
        Assert.Throws<InvalidOperationException>(() => services.AddSmtpServer(o => o.Secure = true));
        Assert.Throws<InvalidOperationException>(() => services.AddSmtpServer<AddSmtpServerTests.MailboxServer>());
    }

    [Fact]
    public void A_name_registered_twice_is_refused()
    {
        var services = new ServiceCollection();
        services.AddSmtpServer("mx", o => o.AuthOptional = true);
        services.AddSmtpServer(o => o.AuthOptional = true);
        var error = Assert.Throws<InvalidOperationException>(() => services.AddSmtpServer<AddSmtpServerTests.MailboxServer>("mx", o => o.Secure = true));
        Assert.Equal("AddSmtpServer: a server named 'mx' (SmtpServer) is already registered; give each server a name of its own, "
            + "or change its options with services.Configure<SmtpServerOptions>(\"mx\", …).", error.Message);
    }

    [Fact]
    public async Task A_misspelt_key_stops_the_host_at_start_naming_it()
    {
        HostApplicationBuilder builder = Builder(new() { ["Smtp:listen"] = "127.0.0.1:0", ["Smtp:MaxRecipents"] = "10" });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        SmtpConfigurationException error = await Assert.ThrowsAsync<SmtpConfigurationException>(() => host.StartAsync());
        Assert.Equal("Smtp:MaxRecipents: unknown setting (did you mean maxRecipients?)", error.Message);
    }
}
