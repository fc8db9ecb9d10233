using System.Net;
using System.Runtime.InteropServices;
using Smtpd;

// An inbound server for example.com: mail for anyone else is refused, each accepted message becomes a file.
await using var server = new SmtpServer(new SmtpServerOptions
{
    AuthMethods = [],                                      // receive-only: no AUTH offered or required
    HideENHANCEDSTATUSCODES = false,                       // send RFC 3463 codes such as 5.1.1
    Size = 25 * 1024 * 1024, RejectOversized = true,       // advertise SIZE, refuse bigger messages
    OnRcptTo = (rcpt, session, ct) => new(rcpt.Address.EndsWith("@example.com", StringComparison.OrdinalIgnoreCase)
        ? SmtpResult.Accept() : SmtpResult.Reject(550, "No such user here", "5.1.1")),
    OnData = async (message, session, ct) =>
    {
        await using var file = File.Create($"{session.Id}-{session.Transaction}.eml");
        await message.CopyToAsync(file, ct);               // the message as it arrives, dot-unstuffed
        return SmtpResult.Accept("Queued");
    },
});

int port = args.Length > 0 ? int.Parse(args[0]) : 2525;   // 25 for a real MX (needs the privilege to bind it)
EndPoint bound = await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, port));
Console.WriteLine($"Listening on {bound}; Ctrl+C stops");

// ListenAsync returns once the port is bound: keep running until Ctrl+C or SIGTERM, then close gracefully.
var stop = new TaskCompletionSource();
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal => { signal.Cancel = true; stop.TrySetResult(); });
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal => { signal.Cancel = true; stop.TrySetResult(); });
await stop.Task;
await server.CloseAsync();
