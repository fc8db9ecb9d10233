using Smtpd.Tests.Samples;

namespace Smtpd.Tests.Server;

/// <summary>deploy/smtpd.json, the configuration docs/deployment.md installs to /etc/smtpd: the program starts with it as shipped.</summary>
public class DeploymentConfigurationTests
{
    [Fact]
    public async Task The_deployment_example_configuration_starts_the_program_as_documented()
    {
        string folder = ServerProcess.NewFolder();
        (string cert, string key) = await SampleProcess.CreateCertificateAsync(folder, "mx.example.com");

        // Replaced on the command line: only what a test machine cannot have (ports 25, /var/spool, /etc/smtpd/tls).
        await using ServerProcess server = await ServerProcess.StartAsync(settings: null, folder: folder, defaults: false, args: [
            "--config", RepositoryFile.PathOf("deploy/smtpd.json"),
            "--listen:0", "127.0.0.1:0", "--listen:1", "127.0.0.1:0", "--store", "mail", "--cert", cert, "--key", key]);
        Assert.DoesNotContain("self-signed", server.StandardOutput, StringComparison.Ordinal);

        await using RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.StartsWith("220 mx.example.com ESMTP", (await client.ReadReplyAsync()).Line, StringComparison.Ordinal);
        Reply ehlo = await client.CommandAsync("EHLO client.example.org");
        Assert.Contains(ehlo.Lines, line => line[4..] == "SIZE 26214400");
        Assert.Contains(ehlo.Lines, line => line[4..] == "STARTTLS");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<alice@example.com>")).Code);
        Assert.StartsWith("550 5.1.1 ", (await client.CommandAsync("RCPT TO:<bob@elsewhere.example>")).Line, StringComparison.Ordinal);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
    }
}
