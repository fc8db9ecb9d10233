using System.Text;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Interop;

/// <summary>
/// Matrix row: <c>openssl s_client</c> (<c>-starttls smtp</c> and implicit TLS, the certificate verified against the
/// test CA for <c>localhost</c>), with the session typed as a person would (<c>-crlf</c>, the message dot-stuffed by
/// hand, AUTH PLAIN with an initial response). No plain cells: s_client speaks TLS only.
/// </summary>
public sealed class OpenSslInteropTests
{
    [Theory]
    [MemberData(nameof(Cells))]
    public async Task OpenSsl_s_client_delivers(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        using var openssl = new OpenSslClient();
        byte[] raw = InteropMessage.Create($"openssl {transport} auth={auth}");

        var session = new StringBuilder("EHLO client.example\n");
        if (auth)
        {
            session.Append("AUTH PLAIN ").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{InteropServer.User}\0{InteropServer.Password}"))).Append('\n');
        }

        session.Append($"MAIL FROM:<{InteropMessage.Sender}>\nRCPT TO:<{InteropMessage.Recipient}>\nDATA\n");
        foreach (string line in Encoding.ASCII.GetString(raw).Split("\r\n")[..^1])
        {
            session.Append(line.StartsWith('.') ? "." + line : line).Append('\n');
        }

        session.Append(".\nQUIT\n");
        ProcessResult result = await openssl.RunAsync(server.Port, transport == InteropTransport.StartTls, session.ToString(),
            "-crlf", "-ign_eof", "-servername", "localhost", "-verify_hostname", "localhost", "-CAfile", openssl.File("ca.crt"), "-verify_return_error");
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.Trace);
        Assert.Contains("Verify return code: 0 (ok)", result.StandardOutput);
        Assert.Contains("221 ", result.StandardOutput);
        if (auth)
        {
            Assert.Contains("235 ", result.StandardOutput);
        }

        await server.AssertDeliveredAsync(raw, auth, result.Output);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.Plain);
        }
    }

    public static TheoryData<InteropTransport, bool> Cells => InteropCell.Of(InteropTransport.StartTls, InteropTransport.ImplicitTls);
}
