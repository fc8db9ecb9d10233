using Smtpd.Soak;

// The soak of issue 12 (bench/soak runs it): Smtpd.Soak [options], or 'serve' for the server under test (started by the driver).
if (args.Length > 0 && args[0] == "serve")
{
    return await SoakServer.RunAsync(args[1..]);
}

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.Error.WriteLine(SoakOptions.Usage);
    return 0;
}

SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"Smtpd.Soak: {ex.Message}\n{SoakOptions.Usage}");
    return 2;
}

SoakResult result = await SoakRun.RunAsync(options);
string report = SoakReport.Markdown(result, args);
await File.WriteAllTextAsync(Path.Combine(options.Results, "soak.md"), report);
if (options.Report is not null)
{
    await File.WriteAllTextAsync(options.Report, report);
}

foreach (SoakResult.Check check in result.Checks)
{
    SoakRun.Log($"{(check.Passed ? "PASS" : "FAIL")} {check.Name}: {check.Detail}");
}

SoakRun.Log($"report: {Path.Combine(options.Results, "soak.md")}{(options.Report is null ? "" : " and " + options.Report)}");
return result.Passed ? 0 : 1;
