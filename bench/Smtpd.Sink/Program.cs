using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Smtpd;

// Smtpd as a discard sink, configured through the public API only: every sender and recipient is accepted, every
// message is read to its end and thrown away. Its handler never blocks, so it runs with UnsafePreferInlineScheduling
// (as the server program does); --thread-pool runs it with the library's default scheduling instead; --chunking turns
// CHUNKING and BINARYMIME on, for the BDAT workload.
// Usage: Smtpd.Sink --port N [--cert PEM-FILE --key PEM-FILE] [--thread-pool] [--chunking]

const int UsageError = 2;
const string Usage = "usage: Smtpd.Sink --port N [--cert PEM-FILE --key PEM-FILE] [--thread-pool] [--chunking]";
int port = 0;
bool chunking = false;
string? certFile = null;
string? keyFile = null;
bool inline = true;
for (int i = 0; i < args.Length; i++)
{
    string name = args[i];
    if (name is "--help" or "-h")
    {
        await Console.Error.WriteLineAsync(Usage);
        return 0;
    }

    if (name == "--thread-pool")
    {
        inline = false;
        continue;
    }

    if (name == "--chunking")
    {
        chunking = true;
        continue;
    }

    if (i + 1 >= args.Length || name is not ("--port" or "--cert" or "--key"))
    {
        await Console.Error.WriteLineAsync($"Smtpd.Sink: unknown option or missing value: '{name}' ({Usage})");
        return UsageError;
    }

    string value = args[++i];
    switch (name)
    {
        case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) && parsed is > 0 and <= 65535:
            port = parsed;
            break;
        case "--port":
            await Console.Error.WriteLineAsync($"Smtpd.Sink: --port needs a port number, not '{value}'");
            return UsageError;
        case "--cert":
            certFile = value;
            break;
        default:
            keyFile = value;
            break;
    }
}

if (port == 0)
{
    await Console.Error.WriteLineAsync("Smtpd.Sink: --port is required");
    return UsageError;
}

if ((certFile is null) != (keyFile is null))
{
    await Console.Error.WriteLineAsync("Smtpd.Sink: --cert and --key go together");
    return UsageError;
}

var options = new SmtpServerOptions
{
    Name = "localhost",
    DisabledCommands = ["AUTH"],
    AuthOptional = true,
    DisableReverseLookup = true,
    GreetingDelay = TimeSpan.Zero,
    SocketTimeout = TimeSpan.FromMinutes(5),
    CloseTimeout = TimeSpan.FromSeconds(1),
    MaxUnrecognizedCommands = 0,
    UnsafePreferInlineScheduling = inline,
    HideChunking = !chunking,
    OnData = static async (message, session, cancellationToken) =>
    {
        await message.CopyToAsync(Stream.Null, cancellationToken);
        return SmtpResult.Accept();
    },
};

if (certFile is not null && keyFile is not null)
{
    string certificatePem;
    string keyPem;
    try
    {
        certificatePem = await File.ReadAllTextAsync(certFile);
        keyPem = await File.ReadAllTextAsync(keyFile);
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        await Console.Error.WriteLineAsync($"Smtpd.Sink: cannot read the certificate or key: {ex.Message}");
        return UsageError;
    }

    options.Cert = certificatePem;
    options.Key = keyPem;
}
else
{
    // Without a certificate the sink offers no STARTTLS, like the peers.
    options.DisabledCommands.Add("STARTTLS");
}

using var stop = new CancellationTokenSource();
using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});
using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

SmtpServer server;
try
{
    server = new SmtpServer(options);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"Smtpd.Sink: {ex.Message}");
    return UsageError;
}

await using var _ = server;
EndPoint endPoint;
try
{
    endPoint = await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, port));
}
catch (SocketException ex)
{
    await Console.Error.WriteLineAsync($"Smtpd.Sink: cannot listen on 127.0.0.1:{port}: {ex.Message}");
    return 1;
}

await Console.Error.WriteLineAsync($"Smtpd.Sink listening on {endPoint} (pid {Environment.ProcessId})");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
    // SIGTERM or SIGINT: stop below.
}

using var closeLimit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
try
{
    await server.CloseAsync(closeLimit.Token);
}
catch (OperationCanceledException)
{
    // Sessions still open after the limit were aborted.
}

return 0;
