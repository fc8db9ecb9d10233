namespace Smtpd.Server.Delivery;

/// <summary>
/// How a <see cref="GroupCommit"/> batch reaches the disk: the data of every file in the batch, then the store folder
/// holding their new names. Tests derive from it to watch (or hold) each flush.
/// </summary>
internal class StoreSync
{
    /// <summary>
    /// Flushes the data of every file of <paramref name="batch"/>. Several messages: one <c>syncfs</c> of the store's file
    /// system on Linux (one wait for the disk instead of two per message); a single message, or another system: a
    /// <c>fsync</c> of each file, which does not flush unrelated files.
    /// </summary>
    /// <param name="batch">The messages of the batch.</param>
    /// <param name="root">The store folder.</param>
    /// <exception cref="IOException">A flush failed: none of the batch is durable.</exception>
    public virtual void FlushFiles(IReadOnlyList<PendingMessage> batch, string root)
    {
        if (batch.Count > 1 && DirectorySync.CanFlushFileSystem)
        {
            DirectorySync.FlushFileSystem(root);
            return;
        }

        foreach (PendingMessage message in batch)
        {
            RandomAccess.FlushToDisk(message.Eml);
            RandomAccess.FlushToDisk(message.Json);
        }
    }

    /// <summary>Flushes the store folder, making the renames of the batch durable (one <c>fsync</c> for all of them).</summary>
    /// <param name="root">The store folder.</param>
    /// <exception cref="IOException">The flush failed: none of the batch is durable.</exception>
    public virtual void FlushDirectory(string root) => DirectorySync.Flush(root);
}
