using System.Net;
using System.Net.Sockets;

namespace Smtpd.Tests;

/// <summary>
/// A private Postfix instance (Debian package <c>postfix</c>; its own configuration, queue and log in a temporary
/// folder, listening on a free loopback port only, never the system instance). The caller adds the <c>main.cf</c>
/// lines that say where mail goes (a <c>relayhost</c>, an LMTP <c>default_transport</c>, TLS and SASL client settings).
/// </summary>
public sealed class PostfixInstance : IAsyncDisposable
{
    private readonly string _directory;

    private PostfixInstance(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    /// <summary>The loopback port Postfix's smtpd listens on.</summary>
    public int Port { get; }

    public string Log => File.Exists(Path.Combine(_directory, "maillog")) ? File.ReadAllText(Path.Combine(_directory, "maillog")) : "(no log)";

    /// <summary>Starts Postfix with the base configuration plus <paramref name="settings"/> (whole <c>main.cf</c> lines).</summary>
    public static Task<PostfixInstance> StartAsync(params string[] settings) => StartAsync(settings, new Dictionary<string, string>());

    /// <summary>
    /// Starts Postfix with the base configuration plus <paramref name="settings"/>, after writing <paramref name="files"/>
    /// (name, content) into the instance's folder, readable by the <c>postfix</c> user: settings name them as
    /// <c>${queue_directory}/../NAME</c> (a CA file, say).
    /// </summary>
    public static async Task<PostfixInstance> StartAsync(IEnumerable<string> settings, IReadOnlyDictionary<string, string> files)
    {
        ExternalProcess.Require("postfix");
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The private Postfix instance needs Linux.");
        }

        string directory = System.IO.Directory.CreateTempSubdirectory("smtpd-postfix-").FullName;
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        string conf = System.IO.Directory.CreateDirectory(Path.Combine(directory, "conf")).FullName;
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "queue"));
        string data = System.IO.Directory.CreateDirectory(Path.Combine(directory, "data")).FullName;
        foreach ((string name, string content) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, name), content);
        }

        ProcessResult chown = await ExternalProcess.RunAsync("chown", ["postfix", data]);
        Assert.True(chown.ExitCode == 0, chown.Output);

        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await File.WriteAllTextAsync(Path.Combine(conf, "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {directory}/queue
            data_directory = {data}
            mail_owner = postfix
            setgid_group = postdrop
            myhostname = relay.postfix.test
            mydomain = postfix.test
            myorigin = postfix.test
            mydestination =
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            smtpd_recipient_restrictions = permit_mynetworks, reject
            maillog_file = {directory}/maillog
            maillog_file_prefixes = {directory}
            alias_maps =
            alias_database =
            biff = no
            smtputf8_enable = no
            {string.Join("\n", settings)}

            """);

        // Only what relaying and LMTP delivery need (tlsproxy for *_tls_connection_reuse), nothing chrooted, and no listener but the loopback one above.
        await File.WriteAllTextAsync(Path.Combine(conf, "master.cf"), $"""
            127.0.0.1:{port} inet n - n - - smtpd
            pickup    unix  n - n 60 1 pickup
            cleanup   unix  n - n -  0 cleanup
            qmgr      unix  n - n 300 1 qmgr
            tlsmgr    unix  - - n 1000? 1 tlsmgr
            tlsproxy  unix  - - n -  0 tlsproxy
            rewrite   unix  - - n -  - trivial-rewrite
            bounce    unix  - - n -  0 bounce
            defer     unix  - - n -  0 bounce
            trace     unix  - - n -  0 bounce
            verify    unix  - - n -  1 verify
            flush     unix  n - n 1000? 0 flush
            proxymap  unix  - - n -  - proxymap
            smtp      unix  - - n -  - smtp
            relay     unix  - - n -  - smtp
            lmtp      unix  - - n -  - lmtp
            showq     unix  n - n -  - showq
            error     unix  - - n -  - error
            retry     unix  - - n -  - error
            discard   unix  - - n -  - discard
            anvil     unix  - - n -  1 anvil
            scache    unix  - - n -  1 scache
            postlog   unix-dgram n - n - 1 postlogd

            """);

        // The queue folders "postfix check" would create (it takes seconds), then the master daemon directly.
        string queue = Path.Combine(directory, "queue");
        string[] owned = ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "maildrop", "private", "public", "saved", "trace"];
        foreach (string name in owned.Append("pid"))
        {
            System.IO.Directory.CreateDirectory(Path.Combine(queue, name), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        ProcessResult own = await ExternalProcess.RunAsync("chown", ["postfix", .. owned.Select(name => Path.Combine(queue, name))]);
        Assert.True(own.ExitCode == 0, own.Output);
        string daemons = System.IO.Directory.Exists("/usr/lib/postfix/sbin")
            ? "/usr/lib/postfix/sbin"
            : (await ExternalProcess.RunAsync("postconf", ["-c", conf, "-h", "daemon_directory"])).StandardOutput.Trim();

        var instance = new PostfixInstance(directory, port);
        ProcessResult start = await ExternalProcess.RunAsync(Path.Combine(daemons, "master"), ["-c", conf, "-w"], timeout: TimeSpan.FromSeconds(30));
        if (start.ExitCode != 0)
        {
            string log = instance.Log;
            await instance.DisposeAsync();
            throw new InvalidOperationException($"postfix start failed ({start.ExitCode}): {start.Output}\n{log}");
        }

        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        string conf = Path.Combine(_directory, "conf");
        await ExternalProcess.RunAsync("postfix", ["-c", conf, "stop"], timeout: TimeSpan.FromSeconds(30));
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
