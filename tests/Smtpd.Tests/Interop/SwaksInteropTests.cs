namespace Smtpd.Tests.Interop;

/// <summary>Matrix row: swaks (Debian), <c>--tls</c> for STARTTLS and <c>--tls-on-connect</c>, verifying against the test CA, AUTH LOGIN.</summary>
public sealed class SwaksInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Swaks_delivers(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        using var folder = new InteropFolder();
        byte[] raw = InteropMessage.Create($"swaks {transport} auth={auth}");
        ProcessResult result = await RunAsync(server.Port, transport, auth, folder, raw);
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.Trace);
        await server.AssertDeliveredAsync(raw, auth, result.Output);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.Login);
        }
    }

    /// <summary>Sends <paramref name="raw"/> with swaks as the cell says, as <see cref="InteropServer.User"/> when <paramref name="auth"/> (AUTH LOGIN).</summary>
    public static Task<ProcessResult> RunAsync(int port, InteropTransport transport, bool auth, InteropFolder folder, byte[] raw)
    {
        // swaks ends the data it is given with CRLF "." CRLF, so a file that already ends with CRLF would gain an empty
        // line: it gets the message without its last line ending, and the server must see the message as created.
        string file = folder.Write("message.eml", raw[..^2]);
        var arguments = new List<string>
        {
            "--server", "localhost", "--port", port.ToString(), "--ehlo", "client.example", "--timeout", "10",
            "--from", InteropMessage.Sender, "--to", InteropMessage.Recipient, "--data", file,
        };
        if (transport != InteropTransport.Plain)
        {
            arguments.AddRange([transport == InteropTransport.StartTls ? "--tls" : "--tls-on-connect", "--tls-verify", "--tls-ca-path", folder.CaFile]);
        }

        if (auth)
        {
            arguments.AddRange(["--auth", "LOGIN", "--auth-user", InteropServer.User, "--auth-password", InteropServer.Password]);
        }

        return ExternalProcess.RunAsync("swaks", arguments, timeout: TimeSpan.FromSeconds(30));
    }
}
