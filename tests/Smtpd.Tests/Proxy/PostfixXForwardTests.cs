using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MimeKit;

namespace Smtpd.Tests.Proxy;

/// <summary>
/// A private Postfix instance (Debian package <c>postfix</c>; its own configuration, queue and log in a temporary
/// folder, listening on a free loopback port only, never the system instance) relays to Smtpd with
/// <c>smtp_send_xforward_command = yes</c>, as a content filter set-up does.
/// </summary>
public sealed class PostfixXForwardTests
{
    private static readonly IPAddress ClientAddress = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Postfix_relaying_with_XFORWARD_hands_over_the_original_client()
    {
        var recorder = new SessionRecorder();
        await using var server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseXForward = new[] { "127.0.0.1" };
        });
        await using var postfix = await PostfixInstance.StartAsync(server.Port);

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.com"));
        message.To.Add(MailboxAddress.Parse("rcpt@example.net"));
        message.Subject = "through postfix";
        message.Body = new TextPart("plain") { Text = "hello" };
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(new IPEndPoint(ClientAddress, 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, postfix.Port));
            using var client = new SmtpClient { Timeout = 10000, LocalDomain = "client.example.test" };
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await client.ConnectAsync(socket, "localhost", postfix.Port, MailKit.Security.SecureSocketOptions.None, cts.Token);
            await client.SendAsync(message, cts.Token);
            await client.DisconnectAsync(true, cts.Token);
        }

        SessionSnapshot session;
        try
        {
            session = await recorder.FirstData.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException("Postfix did not relay the message; its log:\n" + postfix.Log);
        }

        Assert.Equal(ClientAddress, session.RemoteAddress);
        Assert.Equal("[127.0.0.2]", session.ClientHostname);
        Assert.Equal("127.0.0.2", session.XForward["ADDR"]);
        Assert.Equal("127.0.0.1", session.XForward["ADDR:DEFAULT"]);
        Assert.Equal("ESMTP", session.XForward["PROTO"]);
        Assert.Equal("client.example.test", session.XForward["HELO"]);
        Assert.Equal("client.example.test", session.HostNameAppearsAs);
    }

    private sealed class PostfixInstance : IAsyncDisposable
    {
        private readonly string _directory;

        private PostfixInstance(string directory, int port)
        {
            _directory = directory;
            Port = port;
        }

        public int Port { get; }

        public string Log => File.Exists(Path.Combine(_directory, "maillog")) ? File.ReadAllText(Path.Combine(_directory, "maillog")) : "(no log)";

        public static async Task<PostfixInstance> StartAsync(int relayPort)
        {
            ExternalProcess.Require("postfix");
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("The private Postfix instance needs Linux.");
            }

            string directory = Directory.CreateTempSubdirectory("smtpd-postfix-").FullName;
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            string conf = Directory.CreateDirectory(Path.Combine(directory, "conf")).FullName;
            Directory.CreateDirectory(Path.Combine(directory, "queue"));
            string data = Directory.CreateDirectory(Path.Combine(directory, "data")).FullName;
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
                relayhost = [127.0.0.1]:{relayPort}
                smtp_send_xforward_command = yes
                maillog_file = {directory}/maillog
                maillog_file_prefixes = {directory}
                alias_maps =
                alias_database =
                biff = no
                smtputf8_enable = no

                """);

            // Only what relaying needs, nothing chrooted, and no listener but the loopback one above.
            await File.WriteAllTextAsync(Path.Combine(conf, "master.cf"), $"""
                127.0.0.1:{port} inet n - n - - smtpd
                pickup    unix  n - n 60 1 pickup
                cleanup   unix  n - n -  0 cleanup
                qmgr      unix  n - n 300 1 qmgr
                rewrite   unix  - - n -  - trivial-rewrite
                bounce    unix  - - n -  0 bounce
                defer     unix  - - n -  0 bounce
                trace     unix  - - n -  0 bounce
                verify    unix  - - n -  1 verify
                flush     unix  n - n 1000? 0 flush
                proxymap  unix  - - n -  - proxymap
                smtp      unix  - - n -  - smtp
                relay     unix  - - n -  - smtp
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
                Directory.CreateDirectory(Path.Combine(queue, name), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            ProcessResult own = await ExternalProcess.RunAsync("chown", ["postfix", .. owned.Select(name => Path.Combine(queue, name))]);
            Assert.True(own.ExitCode == 0, own.Output);
            string daemons = Directory.Exists("/usr/lib/postfix/sbin")
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
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
