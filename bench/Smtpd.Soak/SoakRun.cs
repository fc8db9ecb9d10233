using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Smtpd.Soak;

/// <summary>
/// One soak: starts the server (this program in 'serve' mode, a child process), runs the legitimate load with the
/// hostile sessions beside it, stops the server with SIGTERM, reads its ledger and judges the run.
/// </summary>
internal static class SoakRun
{
    public static async Task<SoakResult> RunAsync(SoakOptions options)
    {
        Directory.CreateDirectory(options.Results);
        string ledgerPath = Path.GetFullPath(Path.Combine(options.Results, "ledger.json"));
        using Process server = StartServer(options, ledgerPath);
        try
        {
            EndPoint endPoint = await ReadListeningAsync(server);
            Log($"server pid {server.Id} listening on {endPoint}");

            var stats = new SoakStats();
            var good = new WellBehavedClients(options, endPoint, stats);
            var hostile = new HostileClients(options, endPoint, stats);
            using var sampler = new RssSampler(server.Id, () => good.AcknowledgedCount);
            using var runLimit = new CancellationTokenSource(options.RunLimit);
            using var loadDone = CancellationTokenSource.CreateLinkedTokenSource(runLimit.Token);
            using var progress = new Timer(_ => Log($"{good.AcknowledgedCount:N0} acknowledged, server RSS {RssSampler.ReadStatus(server.Id, "VmRSS:") / 1024} MiB"), null, 10_000, 10_000);

            var clock = Stopwatch.StartNew();
            sampler.Start();
            Task hostileTask = hostile.RunAsync(loadDone.Token);
            await good.RunAsync(runLimit.Token);
            TimeSpan loadTime = clock.Elapsed;
            await loadDone.CancelAsync();
            Log($"load done in {loadTime.TotalSeconds:0.0} s; waiting for the hostile sessions to end");
            await hostileTask.WaitAsync(options.Timeout + options.SlowlorisHold + TimeSpan.FromSeconds(30));

            // Every client is closed: give the server a moment to see the last closes, then stop it.
            await Task.Delay(TimeSpan.FromSeconds(2));
            sampler.Take();
            long peakKib = RssSampler.ReadStatus(server.Id, "VmHWM:");
            bool aliveUntilStop = !server.HasExited;
            using (Process kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var exitLimit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(exitLimit.Token);
            ServerLedger ledger = JsonSerializer.Deserialize<ServerLedger>(await File.ReadAllTextAsync(ledgerPath))
                ?? throw new InvalidDataException("empty ledger");
            return new SoakResult(options, loadTime, clock.Elapsed, sampler.Samples, peakKib, aliveUntilStop, server.ExitCode,
                good.Acknowledged, ledger, stats.Snapshot(), stats.Hung, hostile.LongestSlowloris);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }
    }

    public static void Log(string text) => Console.Error.WriteLine($"[soak {DateTime.UtcNow:HH:mm:ss}] {text}");

    private static Process StartServer(SoakOptions options, string ledgerPath)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            typeof(SoakRun).Assembly.Location, "serve", "--ledger", ledgerPath,
            "--messages", options.Messages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--size-limit", options.SizeLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("cannot start the soak server");
    }

    private static async Task<EndPoint> ReadListeningAsync(Process server)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await server.StandardOutput.ReadLineAsync(limit.Token) is string line)
        {
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                return IPEndPoint.Parse(line["listening ".Length..]);
            }
        }

        throw new InvalidOperationException("the soak server exited before listening");
    }
}
