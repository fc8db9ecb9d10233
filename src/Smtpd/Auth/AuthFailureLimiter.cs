using System.Net;
using System.Net.Sockets;

namespace Smtpd;

/// <summary>
/// Failed authentications per client address across connections (<see cref="SmtpServerOptions.MaxAuthFailuresPerClient"/>
/// within <see cref="SmtpServerOptions.AuthFailureWindow"/>; Postfix's <c>smtpd_client_auth_rate_limit</c> in spirit).
/// A window opens with an address's first failure; once the address has failed the allowed number of times in it,
/// its AUTH commands are refused until the window ends. IPv6 clients count by their /64 network, the block one site
/// gets, so that an attacker cannot start afresh from every address of it. Entries are dropped once their window has
/// passed; the table holds at most <see cref="MaxEntries"/> addresses (beyond that new addresses are not tracked).
/// </summary>
internal sealed class AuthFailureLimiter(int maxFailures, TimeSpan window)
{
    /// <summary>The most addresses tracked at once.</summary>
    public const int MaxEntries = 100_000;

    private readonly Dictionary<IPAddress, Window> _windows = [];
    private readonly long _windowMs = (long)window.TotalMilliseconds;
    private long _nextSweep;

    /// <summary>There is a limit (<see cref="SmtpServerOptions.MaxAuthFailuresPerClient"/> is not 0).</summary>
    public bool IsEnabled => maxFailures > 0;

    /// <summary>Has <paramref name="client"/> failed the allowed number of times in its current window? Then AUTH is refused.</summary>
    public bool IsLimited(IPAddress client, long now)
    {
        if (!IsEnabled)
        {
            return false;
        }

        lock (_windows)
        {
            return _windows.TryGetValue(Key(client), out Window open) && open.End > now && open.Failures >= maxFailures;
        }
    }

    /// <summary>Counts a failure of <paramref name="client"/>; <see langword="true"/> when it is the one that reaches the limit.</summary>
    public bool Record(IPAddress client, long now)
    {
        if (!IsEnabled)
        {
            return false;
        }

        IPAddress key = Key(client);
        lock (_windows)
        {
            if (now >= _nextSweep)
            {
                Sweep(now);
            }

            if (!_windows.TryGetValue(key, out Window open) || open.End <= now)
            {
                if (_windows.Count >= MaxEntries)
                {
                    return false;
                }

                open = new Window(now + _windowMs, 0);
            }

            open = open with { Failures = open.Failures + 1 };
            _windows[key] = open;
            return open.Failures == maxFailures;
        }
    }

    /// <summary>The address a client counts under: itself, or for IPv6 its /64 network.</summary>
    internal static IPAddress Key(IPAddress client)
    {
        if (client.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return client;
        }

        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    private void Sweep(long now)
    {
        foreach (KeyValuePair<IPAddress, Window> entry in _windows)
        {
            if (entry.Value.End <= now)
            {
                _windows.Remove(entry.Key);
            }
        }

        _nextSweep = now + Math.Max(_windowMs, 1000);
    }

    private readonly record struct Window(long End, int Failures);
}
