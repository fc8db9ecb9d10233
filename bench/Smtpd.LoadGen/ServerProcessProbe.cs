using System.Globalization;

namespace Smtpd.LoadGen;

/// <summary>Reads the memory figures of the server process from /proc/PID/status.</summary>
internal sealed class ServerProcessProbe(int pid)
{
    public int Pid { get; } = pid;

    /// <summary>Resident set size now, in KiB (VmRSS), or -1 when unreadable.</summary>
    public long ReadRssKib() => ReadStatusField("VmRSS:");

    /// <summary>Peak resident set size, in KiB (VmHWM), or -1 when unreadable.</summary>
    public long ReadPeakRssKib() => ReadStatusField("VmHWM:");

    private long ReadStatusField(string field)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    string value = line[field.Length..].Trim();
                    int space = value.IndexOf(' ', StringComparison.Ordinal);
                    return long.Parse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }

        return -1;
    }
}
