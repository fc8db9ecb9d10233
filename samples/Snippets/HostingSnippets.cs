using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Smtpd;
using Smtpd.Hosting;

namespace Snippets;

/// <summary>The application's queue, as the hosting snippet assumes one.</summary>
public interface IMailQueue
{
    ValueTask EnqueueAsync(SmtpEnvelope envelope, Stream message, CancellationToken cancellationToken);
}

#region mail-sink
// The handlers are the On…Async overrides; other constructor parameters come from dependency injection.
public sealed class MailSink(SmtpServerOptions options, IMailQueue queue) : SmtpServer(options)
{
    protected override async ValueTask<SmtpResult> OnDataAsync(SmtpDataStream message, SmtpSession session, CancellationToken ct)
    {
        await queue.EnqueueAsync(session.Envelope, message, ct);
        return SmtpResult.Accept();
    }
}
#endregion

public static class HostingSnippets
{
    /// <summary>docs/hosting.md: a server from the "Smtp" section, with its health check.</summary>
    public static IHost Hosted(string[] args)
    {
        #region add-smtp-server
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSingleton<IMailQueue, FolderQueue>();
        builder.Services.AddSmtpServer<MailSink>(builder.Configuration.GetSection("Smtp"));
        builder.Services.AddHealthChecks().AddSmtpServerCheck();
        #endregion
        return builder.Build();
    }

    /// <summary>docs/hosting.md: handlers as delegates instead of a subclass.</summary>
    public static IHost Delegates(string[] args)
    {
        #region delegates
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"), options =>
        {
            options.OnRcptTo = (rcpt, session, ct) => new(rcpt.Address.EndsWith("@example.com", StringComparison.OrdinalIgnoreCase)
                ? SmtpResult.Accept() : SmtpResult.Reject(550, "No such user here", "5.1.1"));
        });
        #endregion
        return builder.Build();
    }

    /// <summary>docs/hosting.md: a server configured in code, with two endpoints.</summary>
    public static IHost InCode(string[] args)
    {
        #region in-code
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSmtpServer(options =>
        {
            options.Name = "mx.example.com";
            options.AuthOptional = true;
            options.OnData = async (message, session, ct) =>
            {
                await message.CopyToAsync(Stream.Null, ct);
                return SmtpResult.Accept();
            };
        });
        builder.Services.Configure<SmtpHostingOptions>(hosting =>
        {
            hosting.EndPoints.Add(new IPEndPoint(IPAddress.Any, 25));
            hosting.EndPoints.Add(new SmtpListenOptions(new IPEndPoint(IPAddress.Any, 465)) { TlsMode = SmtpTlsMode.Implicit });
        });
        #endregion
        return builder.Build();
    }

    /// <summary>docs/hosting.md: two servers with handlers and options of their own.</summary>
    public static IHost NamedServers(string[] args, IEnumerable<KeyValuePair<string, string>> accounts)
    {
        #region named-servers
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSingleton<IMailQueue, FolderQueue>();

        // Mail from the internet: the "Mx" section, handlers in MailSink.
        builder.Services.AddSmtpServer<MailSink>("mx", builder.Configuration.GetSection("Mx"));

        // The users' mail programs: the "Submission" section, AUTH against the accounts.
        var users = new SmtpPasswordAuthenticator(accounts);
        builder.Services.AddSmtpServer("submission", builder.Configuration.GetSection("Submission"), options => options.OnAuth = users.AuthenticateAsync);

        builder.Services.AddHealthChecks().AddSmtpServerCheck();   // healthy while both listen
        #endregion
        return builder.Build();
    }

    /// <summary>docs/telemetry.md: metrics and traces to OpenTelemetry.</summary>
    public static IHost Telemetry(string[] args)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        #region opentelemetry
        builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(SmtpTelemetry.MeterName))          // "Smtpd"
            .WithTracing(t => t.AddSource(SmtpTelemetry.ActivitySourceName)); // "Smtpd"
        #endregion
        return builder.Build();
    }
}

/// <summary>A queue that writes each message to a file, for the snippets' runs.</summary>
public sealed class FolderQueue : IMailQueue
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("smtpd-queue-").FullName;

    public async ValueTask EnqueueAsync(SmtpEnvelope envelope, Stream message, CancellationToken cancellationToken)
    {
        await using FileStream file = File.Create(Path.Combine(Folder, Guid.NewGuid().ToString("n") + ".eml"));
        await message.CopyToAsync(file, cancellationToken);
    }
}
