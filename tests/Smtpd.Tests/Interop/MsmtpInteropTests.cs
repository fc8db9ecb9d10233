namespace Smtpd.Tests.Interop;

/// <summary>Matrix row: msmtp (Debian; GnuTLS), <c>--tls-starttls</c> on or off, verifying against the test CA, AUTH CRAM-MD5.</summary>
public sealed class MsmtpInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Msmtp_delivers(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        using var folder = new InteropFolder();
        byte[] raw = InteropMessage.Create($"msmtp {transport} auth={auth}");

        // No user or system configuration: an empty file of its own (msmtp insists on mode 0600).
        string config = folder.Write("msmtprc", []);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var arguments = new List<string>
        {
            "-C", config, "--host=localhost", $"--port={server.Port}", "--domain=client.example", "--timeout=10",
            $"--from={InteropMessage.Sender}",
            $"--tls={(transport == InteropTransport.Plain ? "off" : "on")}",
            $"--tls-starttls={(transport == InteropTransport.StartTls ? "on" : "off")}",
            $"--tls-trust-file={folder.CaFile}",
        };
        arguments.AddRange(auth
            ? ["--auth=cram-md5", $"--user={InteropServer.User}", $"--passwordeval=printf %s {InteropServer.Password}"]
            : ["--auth=off"]);
        arguments.AddRange(["--", InteropMessage.Recipient]);

        ProcessResult result = await ExternalProcess.RunAsync("msmtp", arguments, standardInput: System.Text.Encoding.ASCII.GetString(raw), timeout: TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.Trace);
        await server.AssertDeliveredAsync(raw, auth, result.Output);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.CramMd5);
        }
    }
}
