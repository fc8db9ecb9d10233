using Microsoft.Extensions.Logging;

namespace Smtpd.Tests.Protocol;

/// <summary>Logging: categories, session ids on every connection line, no secrets.</summary>
public class LoggingTests
{
    [Fact]
    public async Task Every_connection_line_carries_the_session_id_and_the_category_is_the_component()
    {
        var factory = new ListLogger();
        SmtpSession? session = null;
        await using (var server = await TestServer.StartAsync(o =>
        {
            o.LoggerFactory = factory;
            o.Component = "mail-in";
            o.DisabledCommands = ["AUTH"];
            o.OnConnect = (s, ct) =>
            {
                session = s;
                return default;
            };
        }))
        {
            await using var client = await server.ConnectAsync();
            await client.CommandAsync("EHLO x");
            await client.CommandAsync("MAIL FROM:<a@b.c>");
            await client.CommandAsync("RCPT TO:<r@b.c>");
            await client.CommandAsync("DATA");
            await client.SendAsync("x\r\n.\r\n");
            await client.ReadReplyAsync();
            await client.CommandAsync("QUIT");
        }

        Assert.Equal(["mail-in"], factory.Categories);
        var connectionLines = factory.Entries.Where(e => e.EventId.Id >= 10).ToList();
        Assert.NotEmpty(connectionLines);
        Assert.All(connectionLines, e => Assert.StartsWith($"[{session!.Id}] ", e.Message));
        Assert.Contains(factory.Entries, e => e.Message.Contains("C: MAIL FROM:<a@b.c>"));
        Assert.Contains(factory.Entries, e => e.Message.Contains("S: 250 Accepted"));
        Assert.Contains(factory.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("Message from <a@b.c> to 1 recipient(s) <r@b.c>, 3 bytes"));
        Assert.Contains(factory.Entries, e => e.Message.Contains("Connection closed"));
    }

    [Fact]
    public async Task AUTH_payloads_are_redacted()
    {
        var logger = new ListLogger();
        await using var server = await TestServer.StartAsync(o => o.Logger = logger);
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("AUTH PLAIN AHVzZXIAc2VjcmV0");
        Assert.DoesNotContain(logger.Entries, e => e.Message.Contains("AHVzZXIAc2VjcmV0"));
        Assert.Contains(logger.Entries, e => e.Message.Contains("AUTH PLAIN /* secured */"));
    }

    [Fact]
    public async Task LogToConsole_writes_single_lines_without_the_console_logging_package()
    {
        Assert.DoesNotContain(typeof(SmtpServer).Assembly.GetReferencedAssemblies(), a => a.Name == "Microsoft.Extensions.Logging.Console");
        await using (var server = new SmtpServer(TestServer.Defaults(o => o.LogToConsole = true)))
        {
            Assert.IsType<ConsoleLogger>(server.Logger);
        }

        var output = new StringWriter();
        var logger = new ConsoleLogger("Smtpd", output);
        Assert.False(logger.IsEnabled(LogLevel.Trace));
        SmtpLog.Command(logger, "abc", "NOOP");
        SmtpLog.HandlerFailed(logger, "abc", "DATA", new InvalidOperationException("broken"));
        string[] lines = output.ToString().Split(Environment.NewLine);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d dbug: Smtpd\[13\] \[abc\] C: NOOP$", lines[0]);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d fail: Smtpd\[15\] \[abc\] The DATA handler failed$", lines[1]);
        Assert.StartsWith("System.InvalidOperationException: broken", lines[2], StringComparison.Ordinal);
    }
}
