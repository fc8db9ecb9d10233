using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// The logger of <see cref="SmtpServerOptions.LogToConsole"/> (the reference's <c>logger: true</c>): one line per entry
/// on standard output, in the single-line format of .NET's simple console logger
/// (<c>2026-01-02 03:04:05 info: smtp-server[10] [id] Connection from …</c>), debug level and up. It exists so the core
/// library needs no logging package beyond the abstractions; an application that wants more passes its own
/// <see cref="ILogger"/> or <see cref="ILoggerFactory"/>. Lines are written synchronously: it is meant for development.
/// </summary>
internal sealed class ConsoleLogger(string category, TextWriter? output = null) : ILogger
{
    private static readonly Lock WriteLock = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel is >= LogLevel.Debug and < LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var line = new StringBuilder(128)
            .Append(DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss ", CultureInfo.InvariantCulture))
            .Append(logLevel switch
            {
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            })
            .Append(": ").Append(category).Append('[').Append(eventId.Id).Append("] ")
            .Append(formatter(state, exception));
        if (exception is not null)
        {
            line.AppendLine().Append(exception);
        }

        lock (WriteLock)
        {
            (output ?? Console.Out).WriteLine(line.ToString());
        }
    }
}
