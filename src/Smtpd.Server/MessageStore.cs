using System.Buffers;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Smtpd.Hosting;

namespace Smtpd.Server;

/// <summary>
/// The <c>store</c> folder: each accepted message becomes <c>&lt;id&gt;.eml</c> (trace fields, then the message bytes
/// exactly as received after dot-unstuffing) and <c>&lt;id&gt;.json</c> (envelope and session). Both are written under
/// the same name in the dot-folder <c>.tmp</c>, flushed to disk, renamed into the store (the <c>.eml</c> first, the
/// <c>.json</c> last) and the store folder is flushed, all before the handler returns and so before the 250 reply.
/// Whatever goes wrong before that leaves nothing at the top level of the store.
/// </summary>
internal sealed class MessageStore
{
    /// <summary>The dot-folder where messages are written before they are renamed into the store.</summary>
    public const string TemporaryFolderName = ".tmp";

    /// <summary>Temporary files not written to for this long are left-overs of a crash, removed at start.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromHours(1);

    private const int BufferSize = 64 * 1024;

    /// <summary>Creates the store for the folder <paramref name="root"/> (a full path).</summary>
    /// <param name="root">The store folder.</param>
    public MessageStore(string root)
    {
        Root = root;
        TemporaryFolder = Path.Combine(root, TemporaryFolderName);
    }

    /// <summary>The store folder.</summary>
    public string Root { get; }

    /// <summary>The dot-folder of temporary files.</summary>
    public string TemporaryFolder { get; }

    /// <summary>Creates the folders if needed and removes stale temporary files (see <see cref="StaleAfter"/>).</summary>
    /// <exception cref="SmtpConfigurationException">The folders cannot be created.</exception>
    public void Prepare()
    {
        try
        {
            Directory.CreateDirectory(TemporaryFolder);
            DateTime staleBefore = DateTime.UtcNow - StaleAfter;
            foreach (FileInfo file in new DirectoryInfo(TemporaryFolder).EnumerateFiles())
            {
                if (file.LastWriteTimeUtc < staleBefore)
                {
                    file.Delete();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SmtpConfigurationException($"store: cannot use '{Root}': {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Streams the message into a temporary file while it arrives, then commits the pair durably. Returns the message id,
    /// or <see langword="null"/> when the message was larger than the size limit and was discarded.
    /// </summary>
    /// <param name="message">The DATA stream; read to its end here.</param>
    /// <param name="session">The session with the envelope.</param>
    /// <param name="serverName">The server's name for the <c>Received:</c> field.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <exception cref="MessageStoreException">The store could not write the message; nothing was kept.</exception>
    /// <exception cref="IOException">The client's connection failed before the end of the message; nothing was kept.</exception>
    public async Task<string?> StoreAsync(SmtpDataStream message, SmtpSession session, string serverName, CancellationToken cancellationToken)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string id = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture) + "-" + session.Id + "-" + session.Transaction.ToString(CultureInfo.InvariantCulture);
        string emlTemporary = Path.Combine(TemporaryFolder, id + ".eml");
        string jsonTemporary = Path.Combine(TemporaryFolder, id + ".json");
        string emlFinal = Path.Combine(Root, id + ".eml");
        string jsonFinal = Path.Combine(Root, id + ".json");
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        SafeFileHandle? eml = null;
        bool committed = false;
        try
        {
            eml = CreateTemporaryFile(emlTemporary);
            byte[] trace = TraceFields.Build(session, serverName, id, now);
            long offset = 0;
            int filled = 0;
            if (trace.Length < buffer.Length / 2)
            {
                trace.CopyTo(buffer, 0);
                filled = trace.Length;
            }
            else
            {
                await WriteAsync(eml, trace, offset, emlTemporary, cancellationToken);
                offset = trace.Length;
            }

            // The message goes to disk in buffer-sized writes as it arrives; a read failure (the client vanished)
            // propagates, so the library acknowledges nothing, and the finally block removes the file. Past the size
            // limit nothing more is written: the library drains the rest before it sends the refusal.
            int read;
            while ((read = await message.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
            {
                if (message.SizeExceeded)
                {
                    return null;
                }

                filled += read;
                if (filled == buffer.Length)
                {
                    await WriteAsync(eml, buffer.AsMemory(0, filled), offset, emlTemporary, cancellationToken);
                    offset += filled;
                    filled = 0;
                }
            }

            await WriteAsync(eml, buffer.AsMemory(0, filled), offset, emlTemporary, cancellationToken);
            byte[] envelope = EnvelopeJson.Build(session, message.ByteLength);
            SafeFileHandle written = eml;
            eml = null;

            // fsync, rename and the folder flush have no asynchronous form: they run as one work item on the thread
            // pool, never on the thread that resumed this method (with inline socket completions, a socket event
            // thread that serves other connections). Once started, the commit is not cancelled halfway.
            await Task.Run(() => Commit(written, envelope, emlTemporary, jsonTemporary, emlFinal, jsonFinal), CancellationToken.None);
            committed = true;
            return id;
        }
        finally
        {
            eml?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            if (!committed)
            {
                // Ids are unique, so a final name that exists here is this message's own, renamed before a later step failed.
                DeleteQuietly(emlTemporary);
                DeleteQuietly(jsonTemporary);
                DeleteQuietly(emlFinal);
                DeleteQuietly(jsonFinal);
            }
        }
    }

    /// <summary>
    /// Makes the message durable: flushes the written <c>.eml</c>, writes and flushes the <c>.json</c>, renames both into
    /// the store (the <c>.eml</c> first) and flushes the store folder. Blocking calls: runs on the thread pool.
    /// </summary>
    private void Commit(SafeFileHandle eml, byte[] envelope, string emlTemporary, string jsonTemporary, string emlFinal, string jsonFinal)
    {
        using (eml)
        {
            FlushToDisk(eml, emlTemporary);
        }

        using (SafeFileHandle json = CreateTemporaryFile(jsonTemporary))
        {
            Io(() => RandomAccess.Write(json, envelope, 0), jsonTemporary);
            FlushToDisk(json, jsonTemporary);
        }

        Io(() => File.Move(emlTemporary, emlFinal), emlFinal);
        Io(() => File.Move(jsonTemporary, jsonFinal), jsonFinal);
        Io(() => DirectorySync.Flush(Root), Root);
    }

    private SafeFileHandle CreateTemporaryFile(string path)
    {
        SafeFileHandle? handle = null;
        Io(
            () =>
            {
                try
                {
                    handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                }
                catch (DirectoryNotFoundException)
                {
                    // Someone removed the folder while the server runs (Prepare made it): make it again, once.
                    Directory.CreateDirectory(TemporaryFolder);
                    handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                }
            },
            path);
        return handle!;
    }

    private static async ValueTask WriteAsync(SafeFileHandle file, ReadOnlyMemory<byte> data, long offset, string path, CancellationToken cancellationToken)
    {
        if (data.IsEmpty)
        {
            return;
        }

        try
        {
            await RandomAccess.WriteAsync(file, data, offset, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessageStoreException($"'{path}': {ex.Message}", ex);
        }
    }

    /// <summary>fsync: blocks its thread for the duration of the flush (there is none asynchronous), the price of acknowledging only what is on disk.</summary>
    private static void FlushToDisk(SafeFileHandle file, string path) => Io(() => RandomAccess.FlushToDisk(file), path);

    private static void Io(Action operation, string path)
    {
        try
        {
            operation();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessageStoreException($"'{path}': {ex.Message}", ex);
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: what cannot be removed now is an unacknowledged temporary file, removed once stale at the next start.
        }
    }
}
