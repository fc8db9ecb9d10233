namespace Smtpd.Tests.Delivery;

/// <summary>
/// A private CA made with openssl, as an operator would make one, in a scratch folder: <c>ca.pem</c>, a server
/// certificate for 127.0.0.1 (<c>server.pem</c>, <c>server.key</c>) and a client certificate (<c>client.pem</c>,
/// <c>client.key</c>), all ECDSA P-256 and PEM. The folder is deleted on dispose.
/// </summary>
public sealed class OpensslCa : IDisposable
{
    private OpensslCa(string folder) => Folder = folder;

    public string Folder { get; }

    public string CaFile => Path.Combine(Folder, "ca.pem");

    public string ServerCert => Path.Combine(Folder, "server.pem");

    public string ServerKey => Path.Combine(Folder, "server.key");

    public string ClientCert => Path.Combine(Folder, "client.pem");

    public string ClientKey => Path.Combine(Folder, "client.key");

    /// <summary>The nats-server <c>tls</c> block serving <see cref="ServerCert"/>; with <paramref name="verifyClients"/>,
    /// clients must show a certificate this CA signed.</summary>
    public string NatsServerTls(bool verifyClients = false) => verifyClients
        ? $"tls {{ cert_file: \"{ServerCert}\", key_file: \"{ServerKey}\", ca_file: \"{CaFile}\", verify: true }}\n"
        : $"tls {{ cert_file: \"{ServerCert}\", key_file: \"{ServerKey}\" }}\n";

    public static async Task<OpensslCa> CreateAsync(string name = "Smtpd NATS test CA")
    {
        var ca = new OpensslCa(Directory.CreateTempSubdirectory("smtpd-ca-").FullName);
        string[] newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        await ca.RunAsync(["req", "-x509", .. newKey, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=" + name]);
        await ca.IssueAsync("server", newKey, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        await ca.IssueAsync("client", newKey, "extendedKeyUsage=clientAuth\n");
        return ca;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private async Task IssueAsync(string name, string[] newKey, string extensions)
    {
        await File.WriteAllTextAsync(Path.Combine(Folder, name + ".ext"), extensions);
        await RunAsync(["req", .. newKey, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name]);
        await RunAsync(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext"]);
    }

    private async Task RunAsync(string[] arguments)
    {
        ProcessResult result = await ExternalProcess.RunAsync("openssl", arguments, workingDirectory: Folder);
        Assert.True(result.ExitCode == 0, $"openssl {string.Join(' ', arguments)}: {result.Output}");
    }
}
