using System.Runtime.InteropServices;

namespace Smtpd.Server;

/// <summary>
/// Flushes a directory to disk, so that files created or renamed in it survive a crash. .NET cannot open a directory
/// as a file handle, so this calls <c>open</c>/<c>fsync</c>/<c>close</c> directly. On Windows it does nothing: NTFS
/// journals directory changes and has no directory fsync.
/// </summary>
internal static partial class DirectorySync
{
    /// <summary>Flushes <paramref name="path"/>'s entries to disk.</summary>
    /// <param name="path">An existing directory.</param>
    /// <exception cref="IOException">The directory cannot be opened or flushed.</exception>
    public static void Flush(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int descriptor = Open(path, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            throw LastError("open", path);
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw LastError("fsync", path);
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

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
