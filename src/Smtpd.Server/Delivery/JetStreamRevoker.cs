using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Smtpd.Server.Delivery;

/// <summary>
/// Removes from the stream the messages that were answered 451 although a publish attempt may have reached it (the
/// acknowledgement was lost, or a publish buffered during an outage goes out after the deadline). For each such id, once
/// NATS is reachable, it publishes a revocation marker with the same <c>Nats-Msg-Id</c> and the header
/// <c>Smtpd-Revoked</c>: the stream answers "duplicate" with the sequence of the message it holds under that id, or
/// stores the marker; either way that sequence is deleted. Consumers skip a message carrying <c>Smtpd-Revoked</c>.
/// </summary>
/// <remarks>
/// This must happen within the stream's duplicate window (2 minutes for a stream the program creates); ids are kept in
/// memory only, at most <see cref="Capacity"/> of them (docs/scale-out.md says what this leaves open).
/// </remarks>
internal sealed partial class JetStreamRevoker(NatsJSContext js, NatsConnection connection, JetStreamSettings settings, ILogger logger) : IAsyncDisposable
{
    /// <summary>The header marking a revocation marker.</summary>
    public const string RevokedHeader = "Smtpd-Revoked";

    /// <summary>Ids waiting for revocation, at most.</summary>
    public const int Capacity = 100_000;

    private static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(1);
    private readonly Channel<string> _ids = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>Starts the background loop.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stopping.Token));

    /// <summary>Queues <paramref name="id"/> for revocation.</summary>
    /// <param name="id">The id of a message answered 451.</param>
    public void Revoke(string id)
    {
        if (!_ids.Writer.TryWrite(id))
        {
            LogDropped(logger, id, Capacity);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _ids.Writer.TryComplete();
        await _stopping.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        await foreach (string id in _ids.Reader.ReadAllAsync(stopping))
        {
            while (!await TryRevokeAsync(id, stopping))
            {
                await Task.Delay(RetryPause, stopping);
            }
        }
    }

    private async Task<bool> TryRevokeAsync(string id, CancellationToken stopping)
    {
        if (connection.ConnectionState != NatsConnectionState.Open)
        {
            return false;
        }

        try
        {
            var headers = new NatsHeaders { [RevokedHeader] = "1" };
            PubAckResponse ack = await js.PublishAsync<byte[]>(settings.Subject, [], opts: new NatsJSPubOpts { MsgId = id }, headers: headers, cancellationToken: stopping);
            if (ack.Error is not null)
            {
                LogFailed(logger, id, ack.Error.Description ?? ack.Error.ErrCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return false;
            }

            try
            {
                await js.DeleteMessageAsync(settings.Stream, new StreamMsgDeleteRequest { Seq = ack.Seq, NoErase = true }, stopping);
            }
            catch (NatsJSApiException ex)
            {
                // The stream answered that it cannot: the message is gone already (a worker took it from a work-queue
                // stream) or deletes are denied. Trying again would not change that.
                LogTaken(logger, id, ack.Seq, ex.Error.Description ?? "");
                return true;
            }

            LogRevoked(logger, id, ack.Seq, ack.Duplicate ? "the message had reached the stream" : "the marker: the message had not reached it");
            return true;
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            // NATS unreachable or slow (the client's exceptions, time-outs and cancellations alike): try again later.
            LogFailed(logger, id, ex.Message);
            return false;
        }
    }

    [LoggerMessage(101, LogLevel.Warning, "Revoked {Id} (answered 451) from the stream: deleted sequence {Seq}, {What}")]
    private static partial void LogRevoked(ILogger logger, string id, ulong seq, string what);

    [LoggerMessage(102, LogLevel.Warning, "Could not revoke {Id} yet (answered 451): {Reason}; trying again")]
    private static partial void LogFailed(ILogger logger, string id, string reason);

    [LoggerMessage(103, LogLevel.Error, "Message {Id} was answered 451 but could not be deleted from the stream (sequence {Seq}: {Reason}); a worker may have taken it before it was revoked, so it may be delivered twice")]
    private static partial void LogTaken(ILogger logger, string id, ulong seq, string reason);

    [LoggerMessage(104, LogLevel.Error, "Cannot queue {Id} for revocation: {Capacity} are already waiting; if a publish of it reached the stream, it may be delivered twice")]
    private static partial void LogDropped(ILogger logger, string id, int capacity);
}
