namespace Smtpd.Tests.Interop;

/// <summary>Matrix row: curl (<c>smtp://</c> with <c>--ssl-reqd</c> for STARTTLS, <c>smtps://</c> for implicit TLS), verifying against the test CA, AUTH PLAIN.</summary>
public sealed class CurlInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Curl_delivers(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        using var folder = new InteropFolder();
        byte[] raw = InteropMessage.Create($"curl {transport} auth={auth}");
        string scheme = transport == InteropTransport.ImplicitTls ? "smtps" : "smtp";
        var arguments = new List<string>
        {
            "--silent", "--show-error", "--max-time", "20", "--url", $"{scheme}://localhost:{server.Port}/client.example",
            "--mail-from", InteropMessage.Sender, "--mail-rcpt", InteropMessage.Recipient, "--upload-file", folder.Write("message.eml", raw),
            "--cacert", folder.CaFile,
        };
        if (transport == InteropTransport.StartTls)
        {
            arguments.Add("--ssl-reqd");
        }

        if (auth)
        {
            arguments.AddRange(["--user", $"{InteropServer.User}:{InteropServer.Password}", "--login-options", "AUTH=PLAIN"]);
        }

        ProcessResult result = await ExternalProcess.RunAsync("curl", arguments, timeout: TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.Trace);
        await server.AssertDeliveredAsync(raw, auth, result.Output);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.Plain);
        }
    }
}
