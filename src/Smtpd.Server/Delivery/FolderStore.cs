using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Smtpd.Hosting;

namespace Smtpd.Server.Delivery;

/// <summary>
/// The <c>store</c> folder: each accepted message becomes <c>&lt;id&gt;.eml</c> (trace fields, then the message bytes
/// exactly as received after dot-unstuffing) and <c>&lt;id&gt;.json</c> (envelope and session). Both are written under
/// the same name in the dot-folder <c>.tmp</c> while the message arrives, then made durable by the <see cref="GroupCommit"/>
/// (flushed, renamed into the store with the <c>.eml</c> first, the store folder flushed) before the handler returns and
/// so before the 250 reply. Whatever goes wrong before that leaves nothing at the top level of the store.
/// </summary>
internal sealed class FolderStore : IDeliveryTarget
{
    /// <summary>The dot-folder where messages are written before they are renamed into the store.</summary>
    public const string TemporaryFolderName = ".tmp";

    /// <summary>Temporary files not written to for this long are left-overs of a crash, removed at start.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromHours(1);

    private const int BufferSize = 64 * 1024;

    private readonly GroupCommit _commit;

    /// <summary>Creates the store for the folder <paramref name="root"/> (a full path).</summary>
    /// <param name="root">The store folder.</param>
    /// <param name="sync">How batches are flushed (tests watch it); the default flushes to disk.</param>
    public FolderStore(string root, StoreSync? sync = null)
    {
        Root = root;
        TemporaryFolder = Path.Combine(root, TemporaryFolderName);
        _commit = new GroupCommit(root, sync ?? new StoreSync());
    }

    /// <summary>The store folder.</summary>
    public string Root { get; }

    /// <summary>The dot-folder of temporary files.</summary>
    public string TemporaryFolder { get; }

    /// <inheritdoc/>
    public string Description => Root;

    /// <inheritdoc/>
    public long? MaxMessageSize => null;

    /// <inheritdoc/>
    /// <remarks>A disk that fails is seen message by message (451); the folder itself is always there to try.</remarks>
    public bool IsAvailable => true;

    /// <summary>Creates the folders if needed and removes stale temporary files (see <see cref="StaleAfter"/>).</summary>
    /// <exception cref="SmtpConfigurationException">The folders cannot be created.</exception>
    public Task PrepareAsync(CancellationToken cancellationToken)
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

        return Task.CompletedTask;
    }

    /// <summary>
    /// Streams the message into a temporary file while it arrives, then commits the pair durably. Returns the message id,
    /// or <see langword="null"/> when the message was larger than the size limit and was discarded.
    /// </summary>
    /// <param name="message">The DATA stream; read to its end here.</param>
    /// <param name="session">The session with the envelope.</param>
    /// <param name="serverName">The server's name for the <c>Received:</c> field.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <exception cref="DeliveryException">The store could not write the message; nothing was kept.</exception>
    /// <exception cref="IOException">The client's connection failed before the end of the message; nothing was kept.</exception>
    public async Task<string?> DeliverAsync(SmtpDataStream message, SmtpSession session, string serverName, CancellationToken cancellationToken)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string id = MessageId.Create(session, now);
        string emlTemporary = Path.Combine(TemporaryFolder, id + ".eml");
        string jsonTemporary = Path.Combine(TemporaryFolder, id + ".json");
        string emlFinal = Path.Combine(Root, id + ".eml");
        string jsonFinal = Path.Combine(Root, id + ".json");
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        SafeFileHandle? eml = null;
        SafeFileHandle? json = null;
        bool committed = false;
        try
        {
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
                eml = await CreateTemporaryFileAsync(emlTemporary);
                await WriteAsync(eml, trace, offset, emlTemporary, cancellationToken);
                offset = trace.Length;
            }

            // A message larger than the buffer goes to disk in buffer-sized writes as it arrives; a read failure (the client vanished)
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
                    eml ??= await CreateTemporaryFileAsync(emlTemporary);
                    await WriteAsync(eml, buffer.AsMemory(0, filled), offset, emlTemporary, cancellationToken);
                    offset += filled;
                    filled = 0;
                }
            }

            // The rest of the .eml (the whole of a message that fit in the buffer) and the .json: the opens and writes
            // block, so they run as one work item on the thread pool (one hop for the pair, not one per write).
            byte[] envelope = EnvelopeJson.Build(session, message.ByteLength);
            SafeFileHandle? streamed = eml;
            eml = null;
            (eml, json) = await Task.Run(() => WriteRest(streamed, buffer, filled, offset, envelope, emlTemporary, jsonTemporary), CancellationToken.None);

            // From here the commit owns the handles and is not cancelled halfway: the message becomes durable with the
            // other messages finishing now, and only then does this method return (and the library answer 250).
            var pending = new PendingMessage(id, eml, json, emlTemporary, jsonTemporary, emlFinal, jsonFinal);
            eml = json = null;
            await _commit.CommitAsync(pending);
            committed = true;
            return id;
        }
        finally
        {
            eml?.Dispose();
            json?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            if (!committed)
            {
                // Ids are unique, so a final name that exists here is this message's own, renamed before a later step failed.
                // Unlinking blocks on a stalled disk: on the thread pool, like every other file operation here.
                await Task.Run(
                    () =>
                    {
                        DeleteQuietly(emlTemporary);
                        DeleteQuietly(jsonTemporary);
                        DeleteQuietly(emlFinal);
                        DeleteQuietly(jsonFinal);
                    },
                    CancellationToken.None);
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Writes the last <paramref name="filled"/> bytes of the <c>.eml</c> (creating it if nothing was streamed) and
    /// the <c>.json</c>; returns both handles, or closes them and throws.</summary>
    private (SafeFileHandle Eml, SafeFileHandle Json) WriteRest(
        SafeFileHandle? eml, byte[] buffer, int filled, long offset, byte[] envelope, string emlTemporary, string jsonTemporary)
    {
        SafeFileHandle? json = null;
        string path = emlTemporary;
        try
        {
            eml ??= CreateTemporaryFile(emlTemporary);
            RandomAccess.Write(eml, buffer.AsSpan(0, filled), offset);
            path = jsonTemporary;
            json = CreateTemporaryFile(jsonTemporary);
            RandomAccess.Write(json, envelope, 0);
            return (eml, json);
        }
        catch (Exception ex)
        {
            eml?.Dispose();
            json?.Dispose();
            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new DeliveryException($"'{path}': {ex.Message}", ex);
            }

            throw;
        }
    }

    /// <summary>
    /// Opens a temporary file on the thread pool: an open blocks while the disk does, and the caller runs on the
    /// connection's thread (with <see cref="SmtpServerOptions.UnsafePreferInlineScheduling"/>, a readiness loop that other
    /// connections share).
    /// </summary>
    private Task<SafeFileHandle> CreateTemporaryFileAsync(string path) => Task.Run(() => CreateTemporaryFile(path), CancellationToken.None);

    private SafeFileHandle CreateTemporaryFile(string path)
    {
        try
        {
            try
            {
                return File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            }
            catch (DirectoryNotFoundException)
            {
                // Someone removed the folder while the server runs (PrepareAsync made it): make it again, once.
                Directory.CreateDirectory(TemporaryFolder);
                return File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DeliveryException($"'{path}': {ex.Message}", ex);
        }
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
            throw new DeliveryException($"'{path}': {ex.Message}", ex);
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
