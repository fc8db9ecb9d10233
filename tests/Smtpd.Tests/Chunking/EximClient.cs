using System.Net;

namespace Smtpd.Tests.Chunking;

/// <summary>
/// Exim as an SMTP client that sends BDAT (Debian's <c>exim4-daemon-light</c>, unpacked by <c>.ci/run</c> with
/// <c>dpkg -x</c> into <c>.ci/tools/exim</c>, never installed as the system's mail server): each message is submitted on
/// standard input and delivered at once (<c>-odi</c>) over SMTP to one loopback endpoint, with a configuration, spool
/// and log of its own in a temporary folder. Exim uses CHUNKING whenever the server offers it.
/// </summary>
internal static class EximClient
{
    /// <summary>The unpacked binary.</summary>
    public static string Binary => RepositoryFile.PathOf(".ci/tools/exim/usr/sbin/exim4");

    /// <summary>Delivers <paramref name="message"/> (LF line endings, as a local submission) from <paramref name="sender"/> to <paramref name="recipient"/> at <paramref name="server"/>; returns Exim's verbose output (the SMTP dialogue).</summary>
    public static async Task<string> SendAsync(IPEndPoint server, string sender, string recipient, string message)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The unpacked Exim needs Linux.");
        }

        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"Exim is not unpacked at {Binary}; .ci/run unpacks it (apt-get download exim4-daemon-light, dpkg -x).");
        }

        string folder = Directory.CreateTempSubdirectory("smtpd-exim-").FullName;
        try
        {
            // Exim delivers as its own user, which must reach the spool and the log (its compiled-in user is Debian-exim).
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
            string spool = Directory.CreateDirectory(Path.Combine(folder, "spool")).FullName;
            string log = Directory.CreateDirectory(Path.Combine(folder, "log")).FullName;
            ProcessResult chown = await ExternalProcess.RunAsync("chown", ["Debian-exim:", spool, log]);
            Assert.True(chown.ExitCode == 0, chown.Output);
            string config = Path.Combine(folder, "exim.conf");
            await File.WriteAllTextAsync(config, $"""
                exim_path = {Binary}
                primary_hostname = exim.test
                spool_directory = {spool}
                log_file_path = {log}/%slog
                exim_user = Debian-exim
                exim_group = Debian-exim
                trusted_users = root
                keep_environment =

                begin routers
                to_smtpd:
                  driver = manualroute
                  domains = *
                  route_list = * {server.Address}
                  transport = to_smtpd
                  self = send

                begin transports
                to_smtpd:
                  driver = smtp
                  port = {server.Port}
                  allow_localhost
                  hosts_avoid_tls = *
                  hosts_try_chunking = *
                """);
            ProcessResult exim = await ExternalProcess.RunAsync(Binary, ["-C", config, "-odi", "-v", "-f", sender, recipient], message, TimeSpan.FromSeconds(60));
            string mainLog = Path.Combine(log, "mainlog");
            string output = exim.Output + (File.Exists(mainLog) ? "\nmainlog:\n" + await File.ReadAllTextAsync(mainLog) : "");
            Assert.True(exim.ExitCode == 0 && output.Contains("Completed", StringComparison.Ordinal), output);
            return output;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
