namespace Smtpd.Tests.Auth;

/// <summary>Python's smtplib and swaks (Debian packages python3 and swaks) for PLAIN, LOGIN and CRAM-MD5.</summary>
public class ExternalClientAuthTests
{
    /// <summary>Authenticates with exactly one mechanism and prints "OK 235" or "FAIL &lt;code&gt;".</summary>
    private const string SmtplibScript = """
        import smtplib, sys
        port, mechanism, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        s = smtplib.SMTP('127.0.0.1', port, timeout=10)
        s.ehlo('client.example.com')
        s.user, s.password = user, password
        try:
            code, _ = s.auth(mechanism, getattr(s, 'auth_' + mechanism.lower().replace('-', '_')))
            print('OK', code)
        except smtplib.SMTPAuthenticationError as e:
            print('FAIL', e.smtp_code)
        print('NOOP', s.noop()[0])
        s.quit()
        """;

    public static TheoryData<string> Mechanisms => new(SmtpAuthMethods.Plain, SmtpAuthMethods.Login, SmtpAuthMethods.CramMd5);

    private static Task<TestServer> StartAsync() => AuthServer.StartAsync(o => o.AuthMethods = ["PLAIN", "LOGIN", "CRAM-MD5"]);

    private static Task<ProcessResult> SmtplibAsync(TestServer server, string mechanism, string password) =>
        ExternalProcess.RunAsync("python3", ["-c", SmtplibScript, server.Port.ToString(), mechanism, AuthServer.User, password], timeout: TimeSpan.FromSeconds(20));

    private static Task<ProcessResult> SwaksAsync(TestServer server, string mechanism, string password) =>
        ExternalProcess.RunAsync("swaks",
            ["--server", "127.0.0.1", "--port", server.Port.ToString(), "--ehlo", "client.example.com", "--auth", mechanism,
             "--auth-user", AuthServer.User, "--auth-password", password, "--quit-after", "AUTH", "--timeout", "10"],
            timeout: TimeSpan.FromSeconds(20));

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Python_smtplib_authenticates(string mechanism)
    {
        await using TestServer server = await StartAsync();
        ProcessResult result = await SmtplibAsync(server, mechanism, AuthServer.Password);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("OK 235", result.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Python_smtplib_is_refused_with_a_wrong_password(string mechanism)
    {
        await using TestServer server = await StartAsync();
        ProcessResult result = await SmtplibAsync(server, mechanism, "wrong");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("FAIL 535", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("NOOP 250", result.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Swaks_authenticates(string mechanism)
    {
        await using TestServer server = await StartAsync();
        ProcessResult result = await SwaksAsync(server, mechanism, AuthServer.Password);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.True(result.StandardOutput.Contains("235 Authentication successful", StringComparison.Ordinal), result.Output);
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Swaks_is_refused_with_a_wrong_password(string mechanism)
    {
        await using TestServer server = await StartAsync();
        ProcessResult result = await SwaksAsync(server, mechanism, "wrong");
        Assert.NotEqual(0, result.ExitCode);
        Assert.True(result.StandardOutput.Contains("535 Error: Authentication credentials invalid", StringComparison.Ordinal), result.Output);
    }
}
