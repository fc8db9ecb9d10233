using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Tests.Proxy;

/// <summary>
/// A real HAProxy (Debian package <c>haproxy</c>) in front of a test server, on loopback only, started with a generated
/// configuration and killed on dispose. Its connections to Smtpd come from <see cref="SourceAddress"/>.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    public static readonly IPAddress SourceAddress = IPAddress.Parse("127.0.0.3");

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private HaproxyProcess(Process process, string directory, int port, int statsPort)
    {
        _process = process;
        _directory = directory;
        Port = port;
        StatsPort = statsPort;
    }

    /// <summary>The frontend clients connect to.</summary>
    public int Port { get; }

    /// <summary>The HTTP statistics page (<c>/stats;csv</c>).</summary>
    public int StatsPort { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts HAProxy forwarding to <paramref name="backendPort"/>.</summary>
    /// <param name="backendPort">The Smtpd port.</param>
    /// <param name="serverOptions">Options of the <c>server</c> line, e.g. <c>send-proxy</c>.</param>
    /// <param name="bindOptions">Options of the frontend <c>bind</c> line (e.g. TLS).</param>
    /// <param name="backendLines">Extra lines for the backend section.</param>
    /// <param name="frontendLines">Extra lines for the frontend section.</param>
    /// <param name="files">Files to write next to the configuration (name, content); <c>{dir}</c> in the options is their folder.</param>
    public static async Task<HaproxyProcess> StartAsync(int backendPort, string serverOptions, string bindOptions = "", string backendLines = "", string frontendLines = "", params (string Name, string Content)[] files)
    {
        string haproxy = File.Exists("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : ExternalProcess.Require("haproxy");
        string directory = Directory.CreateTempSubdirectory("smtpd-haproxy-").FullName;
        foreach ((string name, string content) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, name), content);
        }

        int port = FreePort();
        int statsPort = FreePort();
        int readyPort = FreePort();
        string config = $"""
            global
                maxconn 200

            defaults
                mode tcp
                timeout connect 2s
                timeout client 10s
                timeout server 10s

            frontend smtp
                bind 127.0.0.1:{port} {bindOptions.Replace("{dir}", directory, StringComparison.Ordinal)}
                default_backend smtpd
            {frontendLines}

            frontend ready
                bind 127.0.0.1:{readyPort}
                tcp-request connection reject

            backend smtpd
                source {SourceAddress}
            {backendLines}
                server s1 127.0.0.1:{backendPort} {serverOptions.Replace("{dir}", directory, StringComparison.Ordinal)}

            listen stats
                mode http
                bind 127.0.0.1:{statsPort}
                stats enable
                stats uri /stats

            """;
        string configPath = Path.Combine(directory, "haproxy.cfg");
        await File.WriteAllTextAsync(configPath, config);

        var info = new ProcessStartInfo(haproxy)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-db");
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(configPath);
        var process = Process.Start(info)!;
        var result = new HaproxyProcess(process, directory, port, statsPort);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Every bind happens at start-up, so once the reject-only port answers, the frontend listens too.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                string output = result.Output;
                await result.DisposeAsync();
                throw new InvalidOperationException($"haproxy exited with {process.ExitCode}: {output}\n{config}");
            }

            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, readyPort));
                return result;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>The <c>check_status</c> of the backend server from the statistics CSV (e.g. <c>L7OK</c>).</summary>
    public async Task<string> CheckStatusAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string csv = await http.GetStringAsync(new Uri($"http://127.0.0.1:{StatsPort}/stats;csv"));
        string[] lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] header = lines[0].TrimStart('#', ' ').Split(',');
        int column = Array.IndexOf(header, "check_status");
        foreach (string line in lines.Skip(1))
        {
            string[] fields = line.Split(',');
            if (fields[0] == "smtpd" && fields[1] == "s1")
            {
                return fields[column];
            }
        }

        return "";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
