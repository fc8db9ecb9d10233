namespace Smtpd.Tests.Interop;

/// <summary>
/// Matrix row: nodemailer's SMTP transport (npm, pinned in <c>Interop/node/package.json</c>, installed by .ci/run),
/// sending a raw message; <c>ignoreTLS</c> for the plain cells, <c>requireTLS</c> for STARTTLS, <c>secure</c> for
/// implicit TLS, the certificate verified against the test CA; AUTH with the mechanism nodemailer picks (PLAIN).
/// </summary>
public sealed class NodemailerInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Nodemailer_delivers(InteropTransport transport, bool auth)
    {
        string script = RepositoryFile.PathOf("tests/Smtpd.Tests/Interop/node/send.js");
        Assert.True(Directory.Exists(Path.Combine(Path.GetDirectoryName(script)!, "node_modules", "nodemailer")),
            "nodemailer is not installed: .ci/run runs npm install in tests/Smtpd.Tests/Interop/node");
        await using InteropServer server = await InteropServer.StartAsync(transport);
        using var folder = new InteropFolder();
        byte[] raw = InteropMessage.Create($"nodemailer {transport} auth={auth}");
        ProcessResult result = await ExternalProcess.RunAsync("node",
            [script, server.Port.ToString(), transport.ToString(), auth.ToString(), folder.CaFile, folder.Write("message.eml", raw),
             InteropMessage.Sender, InteropMessage.Recipient, InteropServer.User, InteropServer.Password],
            timeout: TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.Trace);
        Assert.Contains("accepted " + InteropMessage.Recipient, result.StandardOutput);
        await server.AssertDeliveredAsync(raw, auth, result.Output);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.Plain);
        }
    }
}
