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
/// Submission for the users' mail programs: one server on two endpoints, port 587 with STARTTLS and 465 with implicit
/// TLS, AUTH required on both, checked by <see cref="SmtpPasswordAuthenticator"/>; a user may only send as their own
/// address. The server's options hold what both ports share; each <see cref="SmtpListenOptions"/> says how its port
/// differs.
/// </summary>
public sealed class SubmissionService(IOptions<SubmissionOptions> settings, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private SmtpServer? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        SubmissionOptions submission = settings.Value;
        var users = new SmtpPasswordAuthenticator(submission.Users, StringComparer.OrdinalIgnoreCase);
        string outbox = Directory.CreateDirectory(submission.Outbox).FullName;

        #region submission-endpoints
        var options = new SmtpServerOptions
        {
            Name = submission.Name,
            Certificate = SmtpTlsCertificate.FromPemFile(submission.Cert, submission.Key),
            AuthMethods = ["PLAIN", "LOGIN", "SCRAM-SHA-256"],
            OnAuth = users.AuthenticateAsync,              // AUTH is required (AuthOptional is false)
            HideAuthBeforeTls = true,                      // no AUTH offered before STARTTLS on 587
            HideEnhancedStatusCodes = false,
            Size = 50 * 1024 * 1024,
            RejectOversized = true,
            LoggerFactory = loggers,
            OnMailFrom = (from, session, ct) => new(string.Equals(from.Address, (string?)session.User, StringComparison.OrdinalIgnoreCase)
                ? SmtpResult.Accept()
                : SmtpResult.Reject(553, $"{session.User} may not send as <{from.Address}>", "5.7.1")),
            OnData = (message, session, ct) => QueueAsync(outbox, message, session, ct),
        };
        _server = new SmtpServer(options);

        // 587: plaintext first, STARTTLS, then AUTH. 465: TLS from the first byte. AUTH is required on both.
        await _server.ListenAsync(new SmtpListenOptions(SmtpServerConfiguration.ParseEndPoint(submission.StartTls))
        {
            TlsMode = SmtpTlsMode.StartTls,
            AuthOptional = false,
        }, cancellationToken);
        await _server.ListenAsync(new SmtpListenOptions(SmtpServerConfiguration.ParseEndPoint(submission.ImplicitTls))
        {
            TlsMode = SmtpTlsMode.Implicit,
            AuthOptional = false,
        }, cancellationToken);
        #endregion
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.CloseAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
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
