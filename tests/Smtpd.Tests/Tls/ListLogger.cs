using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Smtpd.Tests.Tls;

/// <summary>Collects every log line of a server (level, event id, text) for assertions.</summary>
public sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Text)> _entries = new();

    public IReadOnlyList<(LogLevel Level, int EventId, string Text)> Entries => [.. _entries];

    public IEnumerable<string> Lines(int eventId) => Entries.Where(e => e.EventId == eventId).Select(e => e.Text);

    /// <summary>Waits until a line with <paramref name="eventId"/> was logged (handshake failures are logged after the close).</summary>
    public async Task<string> WaitForAsync(int eventId, TimeSpan? timeout = null)
    {
        DateTime end = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (DateTime.UtcNow < end)
        {
            string? line = Lines(eventId).FirstOrDefault();
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No log event {eventId}; logged: {string.Join(" | ", Entries.Select(e => $"{e.EventId} {e.Text}"))}");
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
}
