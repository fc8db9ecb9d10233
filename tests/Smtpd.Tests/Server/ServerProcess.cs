using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Smtpd.Tests.Server;

/// <summary>
/// The built Smtpd.Server program running as a separate process (<c>dotnet Smtpd.Server.dll</c>) in a scratch folder,
/// with a config file. Ready once it logged its listen address (it listens on port 0 unless told otherwise, and the
/// line names the bound port).
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<IPEndPoint> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<IPEndPoint> _endPoints = new();

    private ServerProcess(string folder, Process process)
    {
        Folder = folder;
        Process = process;
    }

    /// <summary>The built program, copied next to the tests by the project reference.</summary>
    public static string ProgramPath => Path.Combine(AppContext.BaseDirectory, "Smtpd.Server.dll");

    /// <summary>The scratch folder (working directory of the process; holds config.json and, by default, the store).</summary>
    public string Folder { get; }

    /// <summary>The default store of the tests: <c>&lt;Folder&gt;/mail</c>.</summary>
    public string Store => Path.Combine(Folder, "mail");

    public Process Process { get; }

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>Every endpoint the program logged it listens on, in the order of its <c>listen</c> setting.</summary>
    public IReadOnlyList<IPEndPoint> EndPoints => [.. _endPoints];

    public string StandardOutput => string.Join("\n", _stdout);

    public string StandardError => string.Join("\n", _stderr);

    /// <summary>A fresh scratch folder.</summary>
    public static string NewFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "smtpd-server-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>
    /// Starts the program with <paramref name="settings"/> as its config file (listen 127.0.0.1:0 and store ./mail unless
    /// given), extra command-line <paramref name="args"/> and <paramref name="environment"/> variables, and waits until it is ready.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        Dictionary<string, object?>? settings = null, string[]? args = null, Dictionary<string, string>? environment = null,
        string? folder = null, Func<string, string[], (string Program, string[] Arguments)>? wrap = null, bool defaults = true)
    {
        ServerProcess server = Launch(defaults ? WithDefaults(settings) : settings, args, environment, folder, wrap);
        Task exited = server.Process.WaitForExitAsync();
        Task first = await Task.WhenAny(server._ready.Task, exited, Task.Delay(StartTimeout));
        if (first != server._ready.Task)
        {
            string state = first == exited ? $"exited with {server.Process.ExitCode}" : "did not get ready in time";
            await server.DisposeAsync();
            throw new InvalidOperationException($"Smtpd.Server {state}. stdout: {server.StandardOutput} stderr: {server.StandardError}");
        }

        server.EndPoint = await server._ready.Task;
        return server;
    }

    /// <summary>Runs the program with exactly <paramref name="args"/> until it exits by itself (for settings it must refuse).</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunToExitAsync(string[] args, string folder)
    {
        await using ServerProcess server = Launch(null, args, null, folder, null);
        using var timeout = new CancellationTokenSource(StartTimeout);
        await server.Process.WaitForExitAsync(timeout.Token);
        return (server.Process.ExitCode, server.StandardOutput, server.StandardError);
    }

    /// <summary>Sends a signal (<c>TERM</c>, <c>INT</c>) to the process.</summary>
    public async Task SignalAsync(string signal)
    {
        ProcessResult result = await ExternalProcess.RunAsync("kill", ["-" + signal, Process.Id.ToString()], timeout: TimeSpan.FromSeconds(5));
        Assert.Equal(0, result.ExitCode);
    }

    /// <summary>Waits for the process to exit; returns its exit status.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(cts.Token);
        return Process.ExitCode;
    }

    /// <summary>The names of the entries at the top level of the store (files and folders, the dot-folder excluded).</summary>
    public string[] StoreEntries(string? store = null) =>
        Directory.EnumerateFileSystemEntries(store ?? Store)
            .Select(Path.GetFileName)
            .Where(name => name != ".tmp")
            .Order(StringComparer.Ordinal)
            .ToArray()!;

    /// <summary>The files in the store's dot-folder of temporary files.</summary>
    public string[] TemporaryFiles(string? store = null) => Directory.GetFiles(Path.Combine(store ?? Store, ".tmp"));

    /// <summary>Waits until <paramref name="condition"/> holds (polling), failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(5)))
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A mount point or a file still held: the scratch folder is in the temp directory anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static Dictionary<string, object?> WithDefaults(Dictionary<string, object?>? settings)
    {
        var all = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["listen"] = "127.0.0.1:0", ["store"] = "mail" };
        foreach (KeyValuePair<string, object?> setting in settings ?? [])
        {
            all[setting.Key] = setting.Value;
        }

        return all;
    }

    private static ServerProcess Launch(
        Dictionary<string, object?>? settings, string[]? args, Dictionary<string, string>? environment, string? folder,
        Func<string, string[], (string Program, string[] Arguments)>? wrap)
    {
        folder ??= NewFolder();
        var arguments = new List<string> { ProgramPath };
        if (settings is not null)
        {
            string config = Path.Combine(folder, "config.json");
            File.WriteAllText(config, JsonSerializer.Serialize(settings));
            arguments.AddRange(["--config", config]);
        }

        arguments.AddRange(args ?? []);
        (string program, string[] programArguments) = wrap is null ? ("dotnet", arguments.ToArray()) : wrap("dotnet", arguments.ToArray());
        var info = new ProcessStartInfo(ExternalProcess.Require(program))
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in programArguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Only the test's own settings reach the program.
        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("SMTPD_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (KeyValuePair<string, string> variable in environment ?? [])
        {
            info.Environment[variable.Key] = variable.Value;
        }

        var process = new Process { StartInfo = info };
        var server = new ServerProcess(folder, process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            server._stdout.Enqueue(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                var endPoint = IPEndPoint.Parse(match.Groups[1].Value);
                server._endPoints.Enqueue(endPoint);
                server._ready.TrySetResult(endPoint);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                server._stderr.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return server;
    }

    [GeneratedRegex(@"Listening on (\S+), storing messages in ")]
    private static partial Regex ListeningLine();
}

/// <summary>One stored message: the <c>.eml</c> bytes and the parsed <c>.json</c>.</summary>
public sealed record StoredMessage(string Id, byte[] Eml, JsonElement Envelope)
{
    /// <summary>Reads the only pair in <paramref name="store"/>, checking that nothing else is at its top level.</summary>
    public static StoredMessage ReadSingle(string store)
    {
        string[] files = Directory.EnumerateFileSystemEntries(store).Select(Path.GetFileName).Where(n => n != ".tmp").Order(StringComparer.Ordinal).ToArray()!;
        Assert.Equal(2, files.Length);
        string id = Path.GetFileNameWithoutExtension(files[0]);
        Assert.Equal([id + ".eml", id + ".json"], files);
        return Read(store, id);
    }

    public static StoredMessage Read(string store, string id)
    {
        byte[] eml = File.ReadAllBytes(Path.Combine(store, id + ".eml"));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(store, id + ".json")));
        return new StoredMessage(id, eml, json.RootElement.Clone());
    }

    /// <summary>The message bytes after the trace fields (<c>Return-Path:</c> and the folded <c>Received:</c>).</summary>
    public byte[] Body
    {
        get
        {
            string text = Encoding.Latin1.GetString(Eml);
            Assert.StartsWith("Return-Path: <", text);
            int received = text.IndexOf("\r\nReceived: from ", StringComparison.Ordinal);
            Assert.True(received > 0, "no Received: field");
            int end = text.IndexOf(" +0000\r\n", received, StringComparison.Ordinal);
            Assert.True(end > 0, "the Received: field does not end with its date");
            return Eml[(end + " +0000\r\n".Length)..];
        }
    }

    /// <summary>The trace fields as text.</summary>
    public string Trace => Encoding.UTF8.GetString(Eml, 0, Eml.Length - Body.Length);
}
