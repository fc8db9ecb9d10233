using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Smtpd.Tests.Samples;

/// <summary>
/// A sample program under <c>samples/</c> run as users run it (<c>dotnet X.dll ARGS</c>) in a scratch working folder,
/// ready once it printed each endpoint it listens on. The built samples are used, or, when <c>SMTPD_SAMPLE_APPS</c> names
/// a folder, the apps CI built there from the packed packages (<c>FOLDER/X/X.dll</c>).
/// </summary>
public sealed partial class SampleProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Process _process;

    private SampleProcess(Process process, string folder)
    {
        _process = process;
        Folder = folder;
    }

    /// <summary>The working folder (scratch; removed on dispose).</summary>
    public string Folder { get; }

    /// <summary>The endpoints named by the program's "Listening on" lines, in order.</summary>
    public List<IPEndPoint> EndPoints { get; } = [];

    public string Output => string.Join("\n", _output);

    /// <summary>The folder holding the sample's built program (and its appsettings.json).</summary>
    public static string ProgramFolder(string name)
    {
        if (Environment.GetEnvironmentVariable("SMTPD_SAMPLE_APPS") is { Length: > 0 } apps)
        {
            return Path.Combine(apps, name);
        }

        // tests/Smtpd.Tests/bin/<Configuration>/<tfm>/ → samples/<name>/bin/<Configuration>/<tfm>/
        var tests = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = tests.Parent!.Name;
        string root = tests.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, "samples", name, "bin", configuration, tests.Name);
    }

    /// <summary>Starts the sample and waits until it printed <paramref name="endPoints"/> "Listening on" lines.</summary>
    public static async Task<SampleProcess> StartAsync(string name, string[] args, int endPoints = 1)
    {
        string folder = Path.Combine(Path.GetTempPath(), "smtpd-sample-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(folder);
        var info = new ProcessStartInfo(ExternalProcess.Require("dotnet"))
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(ProgramFolder(name), name + ".dll"));
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var sample = new SampleProcess(new Process { StartInfo = info }, folder);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            sample._output.Enqueue(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                lock (sample.EndPoints)
                {
                    sample.EndPoints.Add(IPEndPoint.Parse(match.Groups[1].Value));
                    if (sample.EndPoints.Count == endPoints)
                    {
                        ready.TrySetResult();
                    }
                }
            }
        };
        sample._process.OutputDataReceived += collect;
        sample._process.ErrorDataReceived += collect;
        sample._process.Start();
        sample._process.BeginOutputReadLine();
        sample._process.BeginErrorReadLine();
        Task first = await Task.WhenAny(ready.Task, sample._process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
        if (first != ready.Task)
        {
            await sample.DisposeAsync();
            throw new InvalidOperationException($"{name} did not start listening: {sample.Output}");
        }

        return sample;
    }

    /// <summary>Sends SIGTERM, as a service manager does, and returns the exit status.</summary>
    public async Task<int> StopAsync()
    {
        ProcessResult kill = await ExternalProcess.RunAsync("kill", ["-TERM", _process.Id.ToString()], timeout: TimeSpan.FromSeconds(5));
        Assert.Equal(0, kill.ExitCode);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>A throwaway certificate and key for <paramref name="name"/> as PEM files in the working folder (what CI uses instead of a real one).</summary>
    public static async Task<(string Cert, string Key)> CreateCertificateAsync(string folder, string name)
    {
        string cert = Path.Combine(folder, "cert.pem"), key = Path.Combine(folder, "key.pem");
        ProcessResult openssl = await ExternalProcess.RunAsync("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key, "-out", cert,
            "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name]);
        Assert.True(openssl.ExitCode == 0, openssl.Output);
        return (cert, key);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"[Ll]istening on (\d+\.\d+\.\d+\.\d+:\d+)")]
    private static partial Regex ListeningLine();
}
