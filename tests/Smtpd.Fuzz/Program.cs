using SharpFuzz;
using Smtpd.Fuzz;

// The SharpFuzz harness (run by tests/Smtpd.Fuzz/fuzz under afl-fuzz): Smtpd.Fuzz TARGET, the input on standard input
// or in the file afl-fuzz names. Smtpd.Fuzz TARGET --replay FILE... runs inputs directly (to triage a finding).
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out FuzzTarget? target))
{
    Console.Error.WriteLine($"usage: Smtpd.Fuzz {string.Join('|', FuzzTargets.All.Keys)} [--replay FILE...]");
    return 2;
}

if (args.Length > 1 && args[1] == "--replay")
{
    foreach (string file in args[2..])
    {
        target(File.ReadAllBytes(file));
        Console.WriteLine($"ok {file}");
    }

    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;
