using System.Buffers;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace SmtpServerSink;

/// <summary>Walks every segment of the message SmtpServer has buffered, then discards it.</summary>
internal sealed class DiscardMessageStore : MessageStore
{
    /// <summary>Bytes received in total (keeps the walk over the message observable).</summary>
    public long TotalBytes;

    public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        long length = 0;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            length += segment.Length;
        }

        Interlocked.Add(ref TotalBytes, length);
        return Task.FromResult(SmtpResponse.Ok);
    }
}
