using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Submission;

// Settings in appsettings.json ("Submission"); override any on the command line: --Submission:StartTls 0.0.0.0:587
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<SubmissionOptions>(builder.Configuration.GetSection("Submission"));
builder.Services.AddHostedService<SubmissionService>();
await builder.Build().RunAsync();
