using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Interop;

/// <summary>A temporary folder for a cell's files: the test CA (<c>ca.crt</c>) and the message to send.</summary>
public sealed class InteropFolder : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("smtpd-interop-");

    public InteropFolder()
    {
        TestPki.WriteFiles(_folder.FullName, ("ca", TestPki.Shared.Ca));
    }

    public string FullName => _folder.FullName;

    /// <summary>The test CA's certificate, PEM.</summary>
    public string CaFile => Path("ca.crt");

    public string Path(string name) => System.IO.Path.Combine(_folder.FullName, name);

    /// <summary>Writes <paramref name="content"/> to <paramref name="name"/> and returns its path.</summary>
    public string Write(string name, byte[] content)
    {
        string path = Path(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
