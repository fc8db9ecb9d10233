using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Smtpd.Hosting;
using Smtpd.Server;

namespace Smtpd.Tests.Server;

/// <summary>The program's command line: <c>--help</c> lists every setting it accepts, <c>--version</c>, value-less boolean switches.</summary>
public partial class ServerCommandLineTests
{
    /// <summary>Every key the program accepts: its own, and each library option the configuration binder reads.</summary>
    private static IEnumerable<string> AcceptedKeys() =>
        ServerSettings.ProgramSettings.Select(s => s.Name)
            .Concat(typeof(SmtpServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Select(p => char.ToLowerInvariant(p.Name[0]) + p.Name[1..])
                .Where(SmtpServerConfiguration.IsSetting))
            .Distinct(StringComparer.OrdinalIgnoreCase);

    [Fact]
    public async Task Help_lists_every_setting_the_program_accepts_and_only_those()
    {
        (int status, string stdout, string stderr) = await ServerProcess.RunToExitAsync(["--help"], ServerProcess.NewFolder());
        Assert.Equal(0, status);
        Assert.Empty(stderr);
        Assert.StartsWith("smtpd ", stdout);
        Assert.Contains("Usage: smtpd [--config FILE.json] [--SETTING VALUE]...", stdout);

        string[] listed = HelpSetting().Matches(stdout).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(AcceptedKeys().Order(StringComparer.OrdinalIgnoreCase), listed.Order(StringComparer.OrdinalIgnoreCase));
        foreach (string key in listed)
        {
            // Listed means accepted: the settings reader knows the key (values are checked by their own tests).
            IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, null)]).Build();
            Exception? refused = Record.Exception(() => ServerSettings.Read(configuration));
            Assert.False(refused?.Message.StartsWith("unknown setting", StringComparison.Ordinal) == true, key);
        }

        // Each line has the value form, a description from the API documentation and the default.
        Assert.Matches(@"\n  --size N +Maximum message size in bytes; 0 means no limit\. \[default: 26214400\]\n", stdout);
        Assert.Matches(@"\n  --socketTimeout MS +Idle timeout: .+ \[default: 60000\]\n", stdout);
        Assert.Matches(@"\n  --lmtp BOOL +Speak LMTP .+ \[default: false\]\n", stdout);

        // The program's own default where it differs from the library's: its handlers never block.
        Assert.Matches(@"\n  --unsafePreferInlineScheduling BOOL +Run each connection's work .+ \[default: true\]\n", stdout);
    }

    [Fact]
    public async Task Version_prints_the_package_version()
    {
        (int status, string stdout, _) = await ServerProcess.RunToExitAsync(["--version"], ServerProcess.NewFolder());
        Assert.Equal(0, status);
        string version = typeof(ServerSettings).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal($"smtpd {version}", stdout.Trim());
        Assert.StartsWith(typeof(ServerSettings).Assembly.GetName().Version!.ToString(3), version);
    }

    [Theory]
    [InlineData("--lmtp")]
    [InlineData("--lmtp", "--banner", "flagged")]
    public async Task Boolean_switch_without_a_value_means_true(params string[] args)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(args: args);
        await using RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Matches(@"^220 \S+ LMTP", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task Boolean_switch_keeps_an_explicit_false()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["lmtp"] = true }, args: ["--lmtp", "false"]);
        await using RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Matches(@"^220 \S+ ESMTP", (await client.ReadReplyAsync()).Line);
    }

    [GeneratedRegex(@"^  --(\S+) ", RegexOptions.Multiline)]
    private static partial Regex HelpSetting();
}
