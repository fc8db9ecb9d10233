using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServerSink;
using ServiceProvider = SmtpServer.ComponentModel.ServiceProvider;

// The NuGet package SmtpServer as a discard sink for bench/run: accepts every sender and recipient (its default
// mailbox filter), reads each message fully and discards it; STARTTLS with --cert/--key.
// Usage: SmtpServerSink --port N [--cert PEM-FILE --key PEM-FILE]

int port = 0;
string? certFile = null;
string? keyFile = null;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--port" when int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) && parsed is > 0 and <= 65535:
            port = parsed;
            break;
        case "--cert":
            certFile = args[i + 1];
            break;
        case "--key":
            keyFile = args[i + 1];
            break;
        default:
            await Console.Error.WriteLineAsync($"SmtpServerSink: bad option '{args[i]}' (usage: --port N [--cert PEM-FILE --key PEM-FILE])");
            return 2;
    }
}

if (port == 0 || args.Length % 2 != 0 || (certFile is null) != (keyFile is null))
{
    await Console.Error.WriteLineAsync("usage: SmtpServerSink --port N [--cert PEM-FILE --key PEM-FILE]");
    return 2;
}

X509Certificate2? certificate = null;
if (certFile is not null && keyFile is not null)
{
    try
    {
        certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
    }
    catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
    {
        await Console.Error.WriteLineAsync($"SmtpServerSink: cannot load the certificate: {ex.Message}");
        return 2;
    }
}

ISmtpServerOptions options = new SmtpServerOptionsBuilder()
    .ServerName("localhost")
    .CommandWaitTimeout(TimeSpan.FromMinutes(5))
    .Endpoint(endpoint =>
    {
        endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, port))
            .IsSecure(false)
            .AuthenticationRequired(false)
            .SessionTimeout(TimeSpan.FromMinutes(5));
        if (certificate is not null)
        {
            endpoint.Certificate(certificate);
        }
    })
    .Build();

var services = new ServiceProvider();
services.Add(new DiscardMessageStore());
var server = new SmtpServer.SmtpServer(options, services);

using var stop = new CancellationTokenSource();
using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

await Console.Error.WriteLineAsync($"SmtpServerSink listening on 127.0.0.1:{port} (pid {Environment.ProcessId})");
try
{
    await server.StartAsync(stop.Token);
}
catch (OperationCanceledException)
{
    // SIGTERM.
}

certificate?.Dispose();
return 0;
