using System.Globalization;

namespace Smtpd;

/// <summary>
/// How many connections the process's file descriptor limit leaves room for (issue 12: a server never dies of
/// descriptor exhaustion). Read once when the server is constructed, on Linux from <c>/proc/self</c>: the soft
/// <c>RLIMIT_NOFILE</c> (after the runtime raised it to the hard limit) minus the descriptors already open, minus a
/// reserve for what the process opens later (runtime, logging, handlers' occasional files), divided by the descriptors
/// one connection may hold (its socket and one file its DATA handler writes, as the server program's store does).
/// Elsewhere the limit is unknown and nothing is derived.
/// </summary>
internal static class DescriptorBudget
{
    /// <summary>Descriptors one connection may hold at once: its socket and one file of its handler.</summary>
    public const int PerConnection = 2;

    /// <summary>The reserve: an eighth of the limit, at least 64 descriptors.</summary>
    public static long Reserve(long limit) => Math.Max(64, limit / 8);

    /// <summary>The connections the descriptor limit leaves room for, or <see langword="null"/> where it cannot be read.</summary>
    public static int? ConnectionCap()
    {
        if (!OperatingSystem.IsLinux() || ReadSoftLimit() is not { } limit)
        {
            return null;
        }

        int open;
        try
        {
            open = Directory.GetFiles("/proc/self/fd").Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return Compute(limit, open);
    }

    /// <summary>The cap for <paramref name="limit"/> descriptors of which <paramref name="open"/> are in use (at least 1).</summary>
    public static int Compute(long limit, long open) =>
        (int)Math.Clamp((limit - open - Reserve(limit)) / PerConnection, 1, int.MaxValue);

    /// <summary>The soft limit on open files (<c>Max open files</c> of <c>/proc/self/limits</c>); <see langword="null"/> when unlimited or unreadable.</summary>
    internal static long? ReadSoftLimit()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long soft) ? soft : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }
}
