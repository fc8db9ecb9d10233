using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Smtpd;
using Smtpd.Hosting;

namespace Submission;

public sealed class SubmissionOptions
{
    public string StartTls { get; set; } = "127.0.0.1:587";

    public string ImplicitTls { get; set; } = "127.0.0.1:465";

    public string Name { get; set; } = "smtp.example.com";

    public string Cert { get; set; } = "";

    public string Key { get; set; } = "";

    public string Outbox { get; set; } = "outbox";

    public Dictionary<string, string> Users { get; } = [];
}

/// <summary>
/// Submission for the users' mail programs: port 587 with STARTTLS and 465 with implicit TLS, AUTH required on both,
/// checked by <see cref="SmtpPasswordAuthenticator"/>; a user may only send as their own address. Each endpoint is a
/// server today, built from the same options with its own overrides (the table in <see cref="StartAsync"/>): with
/// per-endpoint listeners the table becomes the endpoint list of a single server.
/// </summary>
public sealed class SubmissionService(IOptions<SubmissionOptions> settings, ILoggerFactory loggers) : IHostedService
{
    private readonly List<SmtpServer> _servers = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        SubmissionOptions submission = settings.Value;
        var users = new SmtpPasswordAuthenticator(submission.Users, StringComparer.OrdinalIgnoreCase);
        var certificate = SmtpTlsCertificate.FromPemFile(submission.Cert, submission.Key);
        string outbox = Directory.CreateDirectory(submission.Outbox).FullName;

        (string Listen, bool ImplicitTls)[] endpoints = [(submission.StartTls, false), (submission.ImplicitTls, true)];
        foreach ((string listen, bool implicitTls) in endpoints)
        {
            var options = new SmtpServerOptions
            {
                Name = submission.Name,
                Certificate = certificate,
                Secure = implicitTls,                          // 465: TLS from the first byte; 587: STARTTLS
                AuthMethods = ["PLAIN", "LOGIN", "SCRAM-SHA-256"],
                OnAuth = users.AuthenticateAsync,              // AUTH is required (AuthOptional is false)
                HideAuthBeforeTls = true,                      // no AUTH offered before STARTTLS on 587
                HideENHANCEDSTATUSCODES = false,
                Size = 50 * 1024 * 1024,
                RejectOversized = true,
                LoggerFactory = loggers,
                OnMailFrom = (from, session, ct) => new(string.Equals(from.Address, (string?)session.User, StringComparison.OrdinalIgnoreCase)
                    ? SmtpResult.Accept()
                    : SmtpResult.Reject(553, $"{session.User} may not send as <{from.Address}>", "5.7.1")),
                OnData = (message, session, ct) => QueueAsync(outbox, message, session, ct),
            };
            var server = new SmtpServer(options);
            _servers.Add(server);
            await server.ListenAsync(SmtpServerConfiguration.ParseEndPoint(listen), cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_servers.Select(server => server.CloseAsync(cancellationToken)));
    }

    /// <summary>Hands the message to the delivery queue: here a folder, flushed to disk before the 250.</summary>
    private static async ValueTask<SmtpResult> QueueAsync(string outbox, SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
    {
        string name = Path.Combine(outbox, $"{session.Id}-{session.Transaction}.eml");
        await using (var file = new FileStream(name + ".tmp", FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
        {
            await message.CopyToAsync(file, cancellationToken);
            file.Flush(flushToDisk: true);
        }

        File.Move(name + ".tmp", name);
        return SmtpResult.Accept("Queued for delivery");
    }
}
