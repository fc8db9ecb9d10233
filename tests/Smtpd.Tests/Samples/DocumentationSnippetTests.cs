using System.Net;
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MimeKit;
using Smtpd.Hosting;
using Snippets;

namespace Smtpd.Tests.Samples;

/// <summary>
/// Every C# block in README.md, docs/ and the package READMEs is a region of a file that CI builds (samples/), word for
/// word (tools/update-snippets.py copies them), and the snippets of samples/Snippets run here.
/// </summary>
public partial class DocumentationSnippetTests
{
    private static string Root => Path.GetFullPath(Path.Combine(SampleProcess.ProgramFolder("QuickStart"), "..", "..", "..", "..", ".."));

    private static IEnumerable<string> MarkdownFiles() =>
        new[] { Path.Combine(Root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md"))
            .Concat(Directory.GetDirectories(Path.Combine(Root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists))
            .Concat(Directory.GetDirectories(Path.Combine(Root, "samples")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists));

    public static TheoryData<string> Documents() => [.. MarkdownFiles().Select(f => Path.GetRelativePath(Root, f))];

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_csharp_block_is_a_built_sample(string document)
    {
        string text = File.ReadAllText(Path.Combine(Root, document)).ReplaceLineEndings("\n");
        foreach (Match block in CSharpBlock().Matches(text))
        {
            Match marker = Marker().Match(block.Groups["before"].Value);
            Assert.True(marker.Success, $"{document}: a ```csharp block without <!-- snippet: PATH[#REGION] --> above it:\n{block.Groups["body"].Value}");
            string source = File.ReadAllText(Path.Combine(Root, marker.Groups["path"].Value)).ReplaceLineEndings("\n");
            string expected = marker.Groups["region"].Success ? Region(source, marker.Groups["region"].Value) : source;
            Assert.True(expected == block.Groups["body"].Value, $"{document}: the block of {marker.Value} differs from its source; run tools/update-snippets.py");
        }
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Documents_link_nothing_outside_the_repository(string document)
    {
        string text = File.ReadAllText(Path.Combine(Root, document));
        Assert.DoesNotMatch(@"(\.\./shared|/work/|shared/spec|shared/seed)", text);
        foreach (Match link in RelativeLink().Matches(text))
        {
            string target = link.Groups[1].Value.Split('#')[0];
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(Path.Combine(Root, document))!, target))
                || Directory.Exists(Path.Combine(Path.GetDirectoryName(Path.Combine(Root, document))!, target)), $"{document}: broken link {target}");
        }
    }

    /// <summary>The lines between <c>#region name</c> and <c>#endregion</c>, without their common indentation.</summary>
    private static string Region(string source, string name)
    {
        Match region = Regex.Match(source, @"^[ \t]*#region " + Regex.Escape(name) + @"[ \t]*\n(.*?)^[ \t]*#endregion", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(region.Success, "no #region " + name);
        string[] lines = region.Groups[1].Value.Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    [Fact]
    public async Task Tls_snippets_run_with_real_files()
    {
        string folder = Directory.CreateTempSubdirectory("smtpd-snippets-").FullName;
        (string cert, string key) = await SampleProcess.CreateCertificateAsync(folder, "mx.example.test");
        string pfx = Path.Combine(folder, "mx.pfx");
        ProcessResult export = await ExternalProcess.RunAsync("openssl", ["pkcs12", "-export", "-in", cert, "-inkey", key, "-out", pfx, "-passout", "pass:pw"]);
        Assert.True(export.ExitCode == 0, export.Output);

        // The snippet shows alternatives: PEM text, then objects (the last assignment wins); each must be usable alone.
        SmtpServerOptions options = TlsSnippets.Certificates(cert, key, pfx, "pw", cert);
        await using var pem = new SmtpServer(new SmtpServerOptions { Cert = options.Cert, Key = options.Key, Ca = options.Ca });
        options.Cert = null;
        options.Key = null;
        await using (new SmtpServer(options))
        {
            Assert.Equal("CN=mx.example.test", options.Certificate!.Certificate.Subject);
        }

        string combined = Path.Combine(folder, "org.pem");
        await File.WriteAllTextAsync(combined, await File.ReadAllTextAsync(cert) + await File.ReadAllTextAsync(key));
        TlsSnippets.Renew(pem, cert, key, combined);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Auth_snippets_authenticate_a_client()
    {
        var store = new Accounts(new Account("alice", "secret", ScramSha256Credentials.Derive("secret", "salt-of-alice"u8.ToArray(), 4096)));
        foreach (SmtpServerOptions options in new[] { AuthSnippets.Handler(store), AuthSnippets.Passwords() })
        {
            options.AllowInsecureAuth = true;
            options.GreetingDelay = TimeSpan.Zero;
            await using var server = new SmtpServer(options);
            var endPoint = (IPEndPoint)await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            using var client = new SmtpClient();
            await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, MailKit.Security.SecureSocketOptions.None);
            await client.AuthenticateAsync("alice", "secret");
            Assert.True(client.IsAuthenticated);
        }
    }

    [Fact]
    public async Task Proxy_snippets_make_valid_servers()
    {
        await using SmtpServer server = ProxySnippets.BehindHaproxy();
        Assert.False(server.Options.UseProxy.IsAll);
        Assert.Equal("10.0.0.0/8, 192.0.2.25", ProxySnippets.TrustLists().UseXClient.ToString());
    }

    [Fact]
    public async Task Hosting_snippets_run_a_server_with_its_health_check_and_telemetry()
    {
        // An empty content root: the appsettings.json that the samples copy into the test folder is not the snippets'.
        string contentRoot = Directory.CreateTempSubdirectory("smtpd-snippets-").FullName;
        string[] args = ["--contentRoot", contentRoot, "--Smtp:listen", "127.0.0.1:0", "--Smtp:greetingDelay", "0", "--Smtp:authOptional", "true"];
        using IHost host = HostingSnippets.Hosted(args);
        await host.StartAsync();
        var endPoint = (IPEndPoint)host.Services.GetRequiredService<SmtpServer>().EndPoints.Single();
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("a@example.org"));
        message.To.Add(MailboxAddress.Parse("b@example.com"));
        message.Body = new TextPart("plain") { Text = "queued" };
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, MailKit.Security.SecureSocketOptions.None);
            await client.SendAsync(message);
        }

        Assert.Single(Directory.GetFiles(((FolderQueue)host.Services.GetRequiredService<IMailQueue>()).Folder));
        Assert.Equal(HealthStatus.Healthy, (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);
        await host.StopAsync();

        foreach (IHost other in new[] { HostingSnippets.Delegates(args), HostingSnippets.Telemetry(args) })
        {
            using (other)
            {
                await other.StartAsync();
                await other.StopAsync();
            }
        }

        // Configured in code: its endpoints are ports 25 and 465, so it is built, not started.
        using (IHost inCode = HostingSnippets.InCode(["--contentRoot", contentRoot]))
        {
            Assert.Equal("mx.example.com", inCode.Services.GetRequiredService<SmtpServer>().Options.Name);
            IList<SmtpListenOptions> endPoints = inCode.Services.GetRequiredService<IOptions<SmtpHostingOptions>>().Value.EndPoints;
            Assert.Equal([null, SmtpTlsMode.Implicit], endPoints.Select(e => e.TlsMode));
        }

        string[] named = ["--contentRoot", contentRoot, "--Mx:listen", "127.0.0.1:0", "--Mx:greetingDelay", "0", "--Mx:authOptional", "true",
            "--Submission:listen", "127.0.0.1:0", "--Submission:greetingDelay", "0", "--Submission:allowInsecureAuth", "true"];
        using (IHost servers = HostingSnippets.NamedServers(named, [new("alice@example.com", "secret")]))
        {
            await servers.StartAsync();
            var submission = (IPEndPoint)servers.Services.GetRequiredKeyedService<SmtpServer>("submission").EndPoints.Single();
            using (var client = new SmtpClient())
            {
                await client.ConnectAsync(submission.Address.ToString(), submission.Port, MailKit.Security.SecureSocketOptions.None);
                await client.AuthenticateAsync("alice@example.com", "secret");
                await client.SendAsync(message);
            }

            Assert.Single(servers.Services.GetRequiredKeyedService<SmtpServer>("mx").EndPoints);
            Assert.Equal(HealthStatus.Healthy, (await servers.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);
            await servers.StopAsync();
        }

        Directory.Delete(contentRoot);
    }

    private sealed class Accounts(Account account) : IAccountStore
    {
        public ValueTask<Account?> FindAsync(string? name, CancellationToken cancellationToken) => new(name == account.Name ? account : null);
    }

    [GeneratedRegex(@"(?<before>[^\n]*\n)```csharp\n(?<body>.*?)```\n", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^<!-- snippet: (?<path>[^#\s]+)(#(?<region>[\w-]+))? -->\n$")]
    private static partial Regex Marker();

    [GeneratedRegex(@"\]\((?!https?:|mailto:|#)([^)\s]+)\)")]
    private static partial Regex RelativeLink();
}
