namespace Smtpd.Tests.Tls;

/// <summary>Reads log lines by event id from the shared <see cref="ListLogger"/>.</summary>
public static class LogWaiting
{
    public static IEnumerable<string> Lines(this ListLogger log, int eventId) =>
        log.Entries.Where(e => e.EventId.Id == eventId).Select(e => e.Message);

    /// <summary>Waits until a line with <paramref name="eventId"/> was logged (handshake failures are logged after the close).</summary>
    public static async Task<string> WaitForAsync(this ListLogger log, int eventId, TimeSpan? timeout = null)
    {
        DateTime end = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (DateTime.UtcNow < end)
        {
            string? line = log.Lines(eventId).FirstOrDefault();
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No log event {eventId}; logged: {string.Join(" | ", log.Entries.Select(e => $"{e.EventId.Id} {e.Message}"))}");
    }
}
