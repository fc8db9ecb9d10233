using System.Net;
using Smtpd.LoadGen;

LoadGenOptions options;
try
{
    if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
    {
        await Console.Error.WriteLineAsync(LoadGenOptions.Usage);
        return args.Length == 0 ? 2 : 0;
    }

    options = LoadGenOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"Smtpd.LoadGen: {ex.Message} (--help lists the options)");
    return 2;
}

// Benchmarks send traffic to this machine only.
if (!IPAddress.TryParse(options.Host, out IPAddress? address) || !IPAddress.IsLoopback(address))
{
    await Console.Error.WriteLineAsync($"Smtpd.LoadGen: --host must be a loopback address (127.0.0.0/8 or ::1), not '{options.Host}'");
    return 2;
}

// Read by the socket engine when the first socket is used: continuations then run on the event thread, which saves
// a thread-pool hop per reply. Nothing in the generator blocks, so this is safe.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", options.InlineCompletions ? "1" : null);

var runner = new LoadRunner(options, new IPEndPoint(address, options.Port));
RunReport report = await runner.RunAsync();
using (Stream stdout = Console.OpenStandardOutput())
{
    report.WriteJson(stdout);
}

await Console.Error.WriteLineAsync(report.SummaryLine());
foreach (string sample in report.ErrorSamples)
{
    await Console.Error.WriteLineAsync($"  error: {sample}");
}

// Exit status: 0 when the run did what was asked without errors, 1 otherwise (the JSON is written either way).
bool complete = options.Mode == LoadMode.Idle ? report.Established == options.IdleConnections
    : options.Duration > TimeSpan.Zero ? report.Completed > 0 : report.Completed == options.TotalMessages;
return complete && report.Errors == 0 ? 0 : 1;
