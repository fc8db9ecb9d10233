using Microsoft.Extensions.Logging;

namespace Smtpd.Tests;

/// <summary>An <see cref="ILogger"/> that keeps every entry, for assertions on log output.</summary>
public sealed class ListLogger : ILogger, ILoggerFactory, ILoggerProvider
{
    private readonly List<Entry> _entries = [];

    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception, IReadOnlyList<KeyValuePair<string, object?>> State);

    public LogLevel MinimumLevel { get; set; } = LogLevel.Trace;

    public List<string> Categories { get; } = [];

    public IReadOnlyList<Entry> Entries
    {
        get
        {
            lock (_entries)
            {
                return _entries.ToArray();
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= MinimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var pairs = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
        lock (_entries)
        {
            _entries.Add(new Entry(Categories.LastOrDefault() ?? "", logLevel, eventId, formatter(state, exception), exception, pairs));
        }
    }

    public ILogger CreateLogger(string categoryName)
    {
        Categories.Add(categoryName);
        return this;
    }

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
