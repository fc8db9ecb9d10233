namespace Smtpd.Tests.Tls;

/// <summary>Runs <c>openssl s_client</c> against a test server, with the test PKI's PEM files in a temporary folder.</summary>
public sealed class OpenSslClient : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("smtpd-openssl-");

    public OpenSslClient()
    {
        TestPki pki = TestPki.Shared;
        TestPki.WriteFiles(_folder.FullName, ("ca", pki.Ca), ("other-ca", pki.OtherCa), ("client", pki.Client), ("stranger", pki.UntrustedClient));
    }

    /// <summary>The path of a file written by the constructor, e.g. <c>ca.crt</c>.</summary>
    public string File(string name) => Path.Combine(_folder.FullName, name);

    /// <summary>Connects, does the handshake (after STARTTLS when <paramref name="startTls"/>), sends <paramref name="input"/> and returns everything printed.</summary>
    public Task<ProcessResult> RunAsync(int port, bool startTls, string input = "", params string[] arguments)
    {
        var all = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}" };
        if (startTls)
        {
            all.AddRange(["-starttls", "smtp"]);
        }

        all.AddRange(arguments);
        return ExternalProcess.RunAsync("openssl", all, standardInput: input, timeout: TimeSpan.FromSeconds(15));
    }

    /// <summary>The subject line s_client prints for the server certificate, e.g. <c>subject=CN = alt.example</c>.</summary>
    public static string Subject(ProcessResult result) =>
        result.StandardOutput.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("subject=", StringComparison.Ordinal))
        ?? throw new InvalidOperationException("s_client printed no subject: " + result.Output);

    public void Dispose() => _folder.Delete(recursive: true);
}
