namespace Smtpd.Tests;

/// <summary>Files of the repository the tests run from (docs, scripts, the nodemailer client's folder).</summary>
public static class RepositoryFile
{
    /// <summary>The full path of <paramref name="relative"/> under the repository root (the folder holding <c>Smtpd.slnx</c>, above the test binaries).</summary>
    public static string PathOf(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Smtpd.slnx")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }

        throw new FileNotFoundException("The repository root (Smtpd.slnx) was not found above the test binaries.");
    }
}
