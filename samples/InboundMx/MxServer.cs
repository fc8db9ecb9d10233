using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Smtpd;

namespace InboundMx;

/// <summary>The application's mailboxes: which addresses exist and where their mail goes.</summary>
public sealed class MailboxOptions
{
    public string Folder { get; set; } = "mail";

    public IList<string> Addresses { get; } = [];
}

/// <summary>
/// The MX: mail for our own domains' mailboxes is accepted and written to the folder, unknown mailboxes get 550 5.1.1,
/// other domains 550 5.7.1 (no relaying). Each message is flushed to disk before the 250, so nothing acknowledged is lost.
/// </summary>
public sealed class MxServer(SmtpServerOptions options, IOptions<MailboxOptions> mailboxes, ILogger<MxServer> logger) : SmtpServer(options)
{
    private readonly HashSet<string> _addresses = new(mailboxes.Value.Addresses, StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _domains = new(mailboxes.Value.Addresses.Select(a => a[(a.IndexOf('@') + 1)..]), StringComparer.OrdinalIgnoreCase);
    private readonly string _folder = Directory.CreateDirectory(mailboxes.Value.Folder).FullName;

    protected override ValueTask<SmtpResult> OnRcptToAsync(SmtpAddress address, SmtpSession session, CancellationToken cancellationToken)
    {
        string domain = address.Address[(address.Address.LastIndexOf('@') + 1)..];
        SmtpResult result = !_domains.Contains(domain) ? SmtpResult.Reject(550, "Relay access denied", "5.7.1")
            : !_addresses.Contains(address.Address) ? SmtpResult.Reject(550, "No such user here", "5.1.1")
            : SmtpResult.Accept();
        return ValueTask.FromResult(result);
    }

    protected override async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken cancellationToken)
    {
        string name = $"{DateTime.UtcNow:yyyyMMddTHHmmss}-{session.Id}-{session.Transaction}.eml";
        string temporary = Path.Combine(_folder, "." + name);
        await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
        {
            await message.CopyToAsync(file, cancellationToken);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path.Combine(_folder, name));   // complete files only, under their final name
        logger.LogInformation("Stored {File} from <{Sender}> for {Recipients} recipients", name, session.Envelope.MailFrom?.Address, session.Envelope.RcptTo.Count);
        return SmtpResult.Accept("Queued as " + name);
    }
}
