using System.Text;

namespace Smtpd.Tests;

/// <summary>
/// What the byte-exact test clients share: sending text, reading CRLF lines and whole SMTP replies (continuation
/// lines included), telling a closed connection from a silent one. A subclass supplies the transport.
/// </summary>
public abstract class LineClient : IAsyncDisposable
{
    /// <summary>How long a read waits unless the test says otherwise.</summary>
    protected static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly byte[] _buffer;
    private readonly MemoryStream _pending = new();

    /// <summary>Creates the client with a receive buffer of <paramref name="bufferSize"/> bytes.</summary>
    protected LineClient(int bufferSize)
    {
        _buffer = new byte[bufferSize];
    }

    /// <summary>Bytes received but not consumed yet.</summary>
    public int PendingBytes => (int)_pending.Length;

    /// <summary>Sends <paramref name="bytes"/> whole.</summary>
    public abstract Task SendBytesAsync(byte[] bytes);

    /// <summary>Receives into <paramref name="buffer"/>: the count, or 0 at the end of the stream or on a reset.</summary>
    protected abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Closes the transport.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>Sends <paramref name="text"/> as UTF-8, nothing added.</summary>
    public Task SendAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends <paramref name="line"/> followed by CRLF.</summary>
    public Task SendLineAsync(string line) => SendAsync(line + "\r\n");

    /// <summary>Sends a line and reads one reply.</summary>
    public async Task<Reply> CommandAsync(string line)
    {
        await SendLineAsync(line);
        return await ReadReplyAsync();
    }

    /// <summary>Reads one complete reply (all continuation lines).</summary>
    public async Task<Reply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (true)
        {
            string? line = await ReadLineAsync(timeout ?? DefaultTimeout)
                ?? throw new IOException("Connection closed while waiting for a reply" + (lines.Count > 0 ? $" after: {string.Join(" | ", lines)}" : ""));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return new Reply(int.Parse(line.AsSpan(0, 3)), lines);
            }
        }
    }

    /// <summary>Reads a line (without CRLF), or <see langword="null"/> at the end of the stream (or a reset).</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            byte[] data = _pending.ToArray();
            int lf = Array.IndexOf(data, (byte)'\n');
            if (lf >= 0)
            {
                _pending.SetLength(0);
                _pending.Write(data, lf + 1, data.Length - lf - 1);
                int end = lf > 0 && data[lf - 1] == '\r' ? lf - 1 : lf;
                return Encoding.UTF8.GetString(data, 0, end);
            }

            int n;
            try
            {
                n = await ReceiveAsync(_buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No line within {timeout.TotalSeconds} s; received so far: '{Encoding.UTF8.GetString(data)}'");
            }

            if (n == 0)
            {
                _pending.SetLength(0);
                return data.Length > 0 ? Encoding.UTF8.GetString(data) : null;
            }

            _pending.Write(_buffer, 0, n);
        }
    }

    /// <summary>True when the server ends the connection (EOF or reset) within <paramref name="timeout"/> without sending another line.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? timeout = null)
    {
        try
        {
            return await ReadLineAsync(timeout ?? DefaultTimeout) is null;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Everything the server sends until it closes the connection.</summary>
    public async Task<string> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var text = new StringBuilder();
        while (await ReadLineAsync(timeout ?? DefaultTimeout) is string line)
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }
}
