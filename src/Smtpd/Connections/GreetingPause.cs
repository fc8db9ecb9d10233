using System.Buffers;
using System.IO.Pipelines;

namespace Smtpd;

/// <summary>
/// The pause before the greeting (<see cref="SmtpServerOptions.GreetingDelay"/>, the reference's early-talker check): a
/// read waits meanwhile, so whatever the client sends before the greeting is seen and answered
/// <c>421 You talk too soon</c>. The read counts as a wait for a command, so a shutdown request wakes it; when the client
/// stays quiet it becomes the first read of the command loop.
/// </summary>
internal sealed class GreetingPause
{
    private readonly ConnectionTransport _transport;
    private Task<ReadResult> _read;

    private GreetingPause(ConnectionTransport transport)
    {
        _transport = transport;
        _read = Watch();
    }

    /// <summary>The read has completed: the client spoke, closed, or a shutdown woke it.</summary>
    public bool HasInput => _read.IsCompleted;

    /// <summary>Starts watching and waits <paramref name="delay"/>.</summary>
    public static async ValueTask<GreetingPause> WaitAsync(ConnectionTransport transport, TimeSpan delay)
    {
        var pause = new GreetingPause(transport);
        await Task.Delay(delay, transport.Aborted);
        return pause;
    }

    /// <summary>After a TLS handshake before the greeting: keep watching, inside TLS now.</summary>
    public void Restart() => _read = Watch();

    /// <summary>What the read got (waiting for it if needed); the watch is over.</summary>
    public async ValueTask<ReadResult> TakeAsync()
    {
        ReadResult result = await _read;
        _transport.Timeouts.Disarm();
        return result;
    }

    /// <summary>The first line the client sent, enough of it to tell a greeting command (16 bytes at most).</summary>
    public static SmtpCommand FirstCommand(ReadOnlySequence<byte> buffer)
    {
        SequencePosition? lf = buffer.PositionOf((byte)'\n');
        ReadOnlySequence<byte> first = lf is null ? buffer : buffer.Slice(0, lf.Value);
        byte[] line = first.Slice(0, Math.Min(first.Length, 16)).ToArray();
        return CommandParser.Identify(line, out _);
    }

    private Task<ReadResult> Watch()
    {
        _transport.Timeouts.ArmForCommand(TimeoutControl.Never);
        return _transport.Reader.ReadAsync().AsTask();
    }
}
