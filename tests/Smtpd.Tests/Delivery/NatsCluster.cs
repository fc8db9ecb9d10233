using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Smtpd.Tests.Delivery;

/// <summary>
/// Real nats-server processes (Debian package <c>nats-server</c>) with JetStream on loopback ports: one node, or a
/// cluster whose nodes route to each other. Each node keeps its configuration and storage in the scratch folder, so it
/// can be killed (SIGKILL, by its PID) and started again with its data. Everything is killed on dispose.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    /// <summary>max_payload of the test servers: room for a 25 MiB message and its headers.</summary>
    public const int MaxPayload = 32 * 1024 * 1024;

    private readonly string _folder;
    private readonly Node[] _nodes;
    private readonly string _scheme;
    private readonly Func<NatsOpts, NatsOpts> _client;

    private NatsCluster(string folder, Node[] nodes, string scheme, Func<NatsOpts, NatsOpts> client)
    {
        _folder = folder;
        _nodes = nodes;
        _scheme = scheme;
        _client = client;
    }

    /// <summary>The client URLs, comma-separated (the form of the program's <c>store</c>).</summary>
    public string Urls => UrlsWith("");

    /// <summary>The client URLs with <paramref name="userInfo"/> (<c>user:password</c>, percent-encoded) in each.</summary>
    public string UrlsWith(string userInfo) =>
        string.Join(",", _nodes.Select(node => $"{_scheme}://{(userInfo.Length > 0 ? userInfo + "@" : "")}127.0.0.1:{node.Port}"));

    public int Count => _nodes.Length;

    /// <summary>
    /// Starts <paramref name="nodes"/> nodes (a cluster when more than one) and waits until JetStream answers.
    /// <paramref name="config"/> is added to each node's configuration (TLS, authorization); <paramref name="scheme"/> is
    /// the URLs' (<c>nats</c> or <c>tls</c>); <paramref name="client"/> gives the test's own connections what that
    /// configuration asks of a client (a CA, credentials). Without <paramref name="jetStream"/> the nodes are plain NATS
    /// servers (no <c>jetstream</c> block), waited for until they accept connections.
    /// </summary>
    public static async Task<NatsCluster> StartAsync(
        int nodes = 1, string config = "", string scheme = "nats", Func<NatsOpts, NatsOpts>? client = null, bool jetStream = true)
    {
        ExternalProcess.Require("nats-server");
        string folder = Directory.CreateTempSubdirectory("smtpd-nats-").FullName;
        int[] clusterPorts = Enumerable.Range(0, nodes).Select(_ => JetStreamTestSupport.FreePort()).ToArray();
        var list = new Node[nodes];
        for (int i = 0; i < nodes; i++)
        {
            string name = "n" + (i + 1);
            int port = JetStreamTestSupport.FreePort();
            var text = new StringBuilder($$"""
                server_name: {{name}}
                listen: 127.0.0.1:{{port}}
                max_payload: {{MaxPayload}}

                """).Append(jetStream ? $$"""
                jetstream { store_dir: "{{Path.Combine(folder, name)}}" }

                """ : "").Append(config);
            if (nodes > 1)
            {
                text.Append($$"""
                    cluster {
                      name: smtpd-test
                      listen: 127.0.0.1:{{clusterPorts[i]}}
                      routes: [{{string.Join(", ", clusterPorts.Where((_, j) => j != i).Select(p => $"nats-route://127.0.0.1:{p}"))}}]
                    }

                    """);
            }

            string path = Path.Combine(folder, name + ".conf");
            await File.WriteAllTextAsync(path, text.ToString());
            list[i] = new Node(path, port);
        }

        var cluster = new NatsCluster(folder, list, scheme, client ?? (options => options));
        foreach (Node node in list)
        {
            node.Start();
        }

        if (jetStream)
        {
            await cluster.WaitForJetStreamAsync();
        }

        return cluster;
    }

    /// <summary>Kills node <paramref name="index"/> outright (SIGKILL).</summary>
    public void Kill(int index) => _nodes[index].Kill();

    /// <summary>Starts node <paramref name="index"/> again with its stored data.</summary>
    public void Restart(int index) => _nodes[index].Start();

    /// <summary>Kills every node.</summary>
    public void KillAll()
    {
        foreach (Node node in _nodes)
        {
            node.Kill();
        }
    }

    /// <summary>Starts every node again.</summary>
    public void RestartAll()
    {
        foreach (Node node in _nodes)
        {
            node.Start();
        }
    }

    /// <summary>A client connection to the cluster, for the test's own checks.</summary>
    public NatsConnection Connect() => new(_client(new NatsOpts { Url = Urls, Name = "smtpd-tests", RequestTimeout = TimeSpan.FromSeconds(5) }));

    /// <summary>Waits until the JetStream API answers (a cluster first elects its meta leader).</summary>
    public async Task WaitForJetStreamAsync()
    {
        await using NatsConnection connection = Connect();
        var js = new NatsJSContext(connection);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await js.GetAccountInfoAsync();
                return;
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        KillAll();
        foreach (Node node in _nodes)
        {
            await node.WaitAsync();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class Node(string config, int port)
    {
        private Process? _process;

        public int Port { get; } = port;

        public void Start()
        {
            var info = new ProcessStartInfo(ExternalProcess.Require("nats-server")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(config);
            _process = Process.Start(info)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!Accepts())
            {
                if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new InvalidOperationException($"nats-server -c {config} did not start (exit: {(_process.HasExited ? _process.ExitCode : "none")})");
                }

                Thread.Sleep(20);
            }
        }

        public void Kill()
        {
            if (_process is { HasExited: false })
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }

        public async Task WaitAsync()
        {
            if (_process is not null)
            {
                await _process.WaitForExitAsync();
                _process.Dispose();
            }
        }

        private bool Accepts()
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(new IPEndPoint(IPAddress.Loopback, Port));
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
