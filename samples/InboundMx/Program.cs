using InboundMx;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// appsettings.json: the "Smtp" section holds the server's options, "Mailboxes" the application's own settings.
// Any of them can be overridden on the command line: --Smtp:listen 0.0.0.0:25 --Smtp:cert /path/fullchain.pem
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<MailboxOptions>(builder.Configuration.GetSection("Mailboxes"));
builder.Services.AddSmtpServer<MxServer>(builder.Configuration.GetSection("Smtp"));
builder.Services.AddHealthChecks().AddSmtpServerCheck();
await builder.Build().RunAsync();   // until Ctrl+C or SIGTERM, then a graceful close
