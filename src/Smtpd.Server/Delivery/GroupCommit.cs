namespace Smtpd.Server.Delivery;

/// <summary>
/// Group commit for the folder store: messages that finish at the same time share the flushes that make them durable.
/// A batch is every message waiting when the previous batch is done; for it, the committer flushes the data of all its
/// files (<see cref="StoreSync.FlushFiles"/>), renames each pair into the store, and flushes the store folder once
/// (<see cref="StoreSync.FlushDirectory"/>). Only then does each message's <see cref="PendingMessage.Durable"/> complete,
/// so no message is acknowledged before the flushes that cover its own bytes and directory entries.
/// </summary>
/// <remarks>
/// One committer runs at a time, on the thread pool (the flushes block); it starts when a message arrives to an idle
/// store and stops when nothing waits. A lone message is committed at once, so a quiet server pays no delay for batching.
/// </remarks>
internal sealed class GroupCommit(string root, StoreSync sync)
{
    private readonly Lock _lock = new();
    private List<PendingMessage> _waiting = [];
    private List<PendingMessage> _spare = [];
    private bool _committing;

    /// <summary>Queues <paramref name="message"/> for the next batch; completes when it is durable.</summary>
    /// <param name="message">A message written under its temporary names; the commit takes its handles.</param>
    /// <exception cref="DeliveryException">A flush or its rename failed; the caller removes its files.</exception>
    public Task CommitAsync(PendingMessage message)
    {
        bool start;
        lock (_lock)
        {
            _waiting.Add(message);
            start = !_committing;
            _committing = true;
        }

        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static commit => commit.Run(), this, preferLocal: false);
        }

        return message.Durable.Task;
    }

    private void Run()
    {
        while (true)
        {
            List<PendingMessage> batch;
            lock (_lock)
            {
                if (_waiting.Count == 0)
                {
                    _committing = false;
                    return;
                }

                // The committer alone touches the batch; the emptied spare list takes the next arrivals.
                batch = _waiting;
                _waiting = _spare;
                _spare = batch;
            }

            try
            {
                Commit(batch);
            }
            catch (Exception ex)
            {
                // Whatever went wrong, no message of the batch is left waiting (Commit completes each one it reached).
                foreach (PendingMessage message in batch)
                {
                    message.Durable.TrySetException(new DeliveryException($"'{message.EmlFinal}': {ex.Message}", ex));
                }
            }

            batch.Clear();
        }
    }

    private void Commit(List<PendingMessage> batch)
    {
        Exception? failure = null;
        try
        {
            sync.FlushFiles(batch, root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            failure = ex;
        }

        foreach (PendingMessage message in batch)
        {
            message.Eml.Dispose();
            message.Json.Dispose();
            if (failure is null)
            {
                try
                {
                    // The .eml first: a reader that sees the .json finds its .eml complete.
                    File.Move(message.EmlTemporary, message.EmlFinal);
                    File.Move(message.JsonTemporary, message.JsonFinal);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    message.Failure = ex;
                }
            }
        }

        if (failure is null)
        {
            try
            {
                sync.FlushDirectory(root);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failure = ex;
            }
        }

        foreach (PendingMessage message in batch)
        {
            if ((failure ?? message.Failure) is { } error)
            {
                message.Durable.TrySetException(new DeliveryException($"'{message.EmlFinal}': {error.Message}", error));
            }
            else
            {
                message.Durable.TrySetResult();
            }
        }
    }
}
