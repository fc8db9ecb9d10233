using System.Runtime.InteropServices;

namespace Smtpd.Server.Delivery;

/// <summary>
/// Flushes a directory, or the whole file system holding it, to disk. .NET cannot open a directory as a file handle, so
/// this calls <c>open</c>/<c>fsync</c>/<c>syncfs</c>/<c>close</c> directly. On Windows the directory flush does nothing:
/// NTFS journals directory changes and has no directory fsync.
/// </summary>
internal static partial class DirectorySync
{
    /// <summary>Whether <see cref="FlushFileSystem"/> is available (Linux <c>syncfs</c>).</summary>
    public static bool CanFlushFileSystem => OperatingSystem.IsLinux();

    /// <summary>Flushes <paramref name="path"/>'s entries to disk (<c>fsync</c> of the directory).</summary>
    /// <param name="path">An existing directory.</param>
    /// <exception cref="IOException">The directory cannot be opened or flushed.</exception>
    public static void Flush(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            WithDescriptor(path, static descriptor => Fsync(descriptor), "fsync");
        }
    }

    /// <summary>
    /// Flushes every written file of the file system holding <paramref name="path"/> to disk in one call (Linux
    /// <c>syncfs</c>): one flush for the data of many files, where a <c>fsync</c> each would wait for the disk once per file.
    /// </summary>
    /// <param name="path">An existing directory on that file system.</param>
    /// <exception cref="IOException">The directory cannot be opened, or the file system reports a write error.</exception>
    public static void FlushFileSystem(string path) => WithDescriptor(path, static descriptor => Syncfs(descriptor), "syncfs");

    private static void WithDescriptor(string path, Func<int, int> call, string name)
    {
        int descriptor = Open(path, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            throw LastError("open", path);
        }

        try
        {
            if (call(descriptor) != 0)
            {
                throw LastError(name, path);
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private static IOException LastError(string call, string path) =>
        new($"{call} '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int Syncfs(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
