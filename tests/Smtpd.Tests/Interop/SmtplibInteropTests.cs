namespace Smtpd.Tests.Interop;

/// <summary>Matrix row: Python's smtplib (<c>SMTP</c>, <c>starttls()</c>, <c>SMTP_SSL</c>, <c>login()</c>), certificate verified against the test CA.</summary>
public sealed class SmtplibInteropTests
{
    private const string Script = """
        import smtplib, ssl, sys
        port, transport, auth, cafile, path, sender, rcpt, user, password = sys.argv[1:]
        context = ssl.create_default_context(cafile=cafile)
        if transport == 'ImplicitTls':
            s = smtplib.SMTP_SSL('localhost', int(port), context=context, timeout=10)
        else:
            s = smtplib.SMTP('localhost', int(port), timeout=10)
        s.ehlo('client.example')
        if transport == 'StartTls':
            s.starttls(context=context)
            s.ehlo('client.example')
        if auth == 'True':
            print('login', s.login(user, password)[0])
        with open(path, 'rb') as f:
            print('refused', s.sendmail(sender, [rcpt], f.read()))
        s.quit()
        """;

    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Python_smtplib_delivers(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        using var folder = new InteropFolder();
        byte[] raw = InteropMessage.Create($"smtplib {transport} auth={auth}");
        ProcessResult result = await ExternalProcess.RunAsync("python3",
            ["-c", Script, server.Port.ToString(), transport.ToString(), auth.ToString(), folder.CaFile, folder.Write("message.eml", raw),
             InteropMessage.Sender, InteropMessage.Recipient, InteropServer.User, InteropServer.Password],
            timeout: TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.Trace);
        Assert.Contains("refused {}", result.StandardOutput);
        await server.AssertDeliveredAsync(raw, auth, result.Output);
        if (auth)
        {
            server.AssertMechanism(SmtpAuthMethods.CramMd5);
        }
    }
}
