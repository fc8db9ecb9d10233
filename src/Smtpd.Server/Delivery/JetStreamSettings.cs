using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Smtpd.Hosting;

namespace Smtpd.Server.Delivery;

/// <summary>
/// The JetStream target's settings: <c>store</c> as a list of NATS server URLs (<c>nats://HOST:PORT</c> or
/// <c>tls://HOST:PORT</c>, comma-separated) and the <c>nats</c> object
/// <c>{ stream, subject, createStream, replicas, publishTimeout, credentials, tlsCa, tlsCert, tlsKey }</c>.
/// </summary>
/// <param name="Servers">The NATS servers (the client picks one and fails over to the others).</param>
/// <param name="Stream">The stream name (default <c>MAIL</c>).</param>
/// <param name="Subject">The subject messages are published to (default <c>mail.in</c>).</param>
/// <param name="CreateStream">Whether a missing stream is created at start (default true).</param>
/// <param name="Replicas">The replicas of a stream the program creates (default 1).</param>
/// <param name="PublishTimeout">How long a message may wait for the stream's acknowledgement (default 5 s).</param>
/// <param name="Credentials">A NATS <c>.creds</c> file, or null.</param>
/// <param name="TlsCa">PEM certificates of the CAs that sign the NATS servers' certificates (instead of the system's trusted roots), or null.</param>
/// <param name="TlsCert">The PEM client certificate for NATS servers that verify clients, or null (then <paramref name="TlsKey"/> is null too).</param>
/// <param name="TlsKey">The PEM private key of <paramref name="TlsCert"/>, or null.</param>
internal sealed record JetStreamSettings(
    IReadOnlyList<Uri> Servers, string Stream, string Subject, bool CreateStream, int Replicas, TimeSpan PublishTimeout, string? Credentials,
    string? TlsCa = null, string? TlsCert = null, string? TlsKey = null)
{
    private static readonly string[] Keys = ["stream", "subject", "createStream", "replicas", "publishTimeout", "credentials", "tlsCa", "tlsCert", "tlsKey"];

    /// <summary>The servers as the program shows them: scheme, host and port, never a user or password of the URL.</summary>
    public string ServersForDisplay => string.Join(",", Servers.Select(server => $"{server.Scheme}://{server.Authority}"));

    /// <summary>Whether the <c>store</c> value names NATS servers rather than a folder.</summary>
    /// <param name="store">The <c>store</c> setting.</param>
    public static bool IsServerList(string store) =>
        store.TrimStart().StartsWith("nats://", StringComparison.OrdinalIgnoreCase)
        || store.TrimStart().StartsWith("tls://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the settings from the <c>store</c> server list and the <c>nats</c> section.</summary>
    /// <param name="store">The <c>store</c> setting: NATS URLs separated by commas.</param>
    /// <param name="nats">The <c>nats</c> section (may be absent).</param>
    /// <exception cref="SmtpConfigurationException">A URL or a value is not usable.</exception>
    public static JetStreamSettings Read(string store, IConfigurationSection nats)
    {
        var servers = new List<Uri>();
        foreach (string entry in store.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(entry, UriKind.Absolute, out Uri? url) || url.Scheme is not ("nats" or "tls")
                || url.Host.Length == 0 || url.IsDefaultPort || url.AbsolutePath != "/" || url.Query.Length > 0)
            {
                int at = entry.IndexOf('@', StringComparison.Ordinal);
                string shown = at < 0 ? entry : "…" + entry[at..];
                throw new SmtpConfigurationException($"store: '{shown}' is neither a folder nor nats://HOST:PORT or tls://HOST:PORT");
            }

            servers.Add(url);
        }

        if (nats.Value is { Length: > 0 })
        {
            throw new SmtpConfigurationException($"{nats.Path}: expected {{ \"stream\": …, \"subject\": …, ... }}");
        }

        foreach (IConfigurationSection setting in nats.GetChildren())
        {
            if (!Keys.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new SmtpConfigurationException($"{setting.Path}: unknown setting (known: {string.Join(", ", Keys)})");
            }
        }

        string stream = nats["stream"] ?? "MAIL";
        if (stream.Length == 0 || stream.Any(c => c is '.' or '*' or '>' or '/' or '\\' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new SmtpConfigurationException($"{nats.Path}:stream: '{stream}' is not a stream name (no spaces, '.', '*', '>', '/')");
        }

        string subject = nats["subject"] ?? "mail.in";
        if (subject.Length == 0 || subject.Split('.').Any(token => token.Length == 0 || token is "*" or ">" || token.Any(char.IsWhiteSpace)))
        {
            throw new SmtpConfigurationException($"{nats.Path}:subject: '{subject}' is not a subject to publish to (dot-separated tokens, no wildcards)");
        }

        int replicas = ReadInt(nats.GetSection("replicas"), 1);
        if (replicas is < 1 or > 5)
        {
            throw new SmtpConfigurationException($"{nats.Path}:replicas: expected 1 to 5, not {replicas}");
        }

        TimeSpan publishTimeout = ReadMilliseconds(nats.GetSection("publishTimeout"), TimeSpan.FromSeconds(5));
        // The .creds file is opened here only to fail early; NATS.Net reads it at each connection.
        string? credentials = ReadFile(nats.GetSection("credentials"));
        if (credentials is not null)
        {
            Load(nats.GetSection("credentials"), () => File.OpenRead(credentials).Dispose());
        }

        (string? tlsCa, string? tlsCert, string? tlsKey) = ReadTlsFiles(nats);
        return new JetStreamSettings(
            servers, stream, subject, ReadBool(nats.GetSection("createStream"), true), replicas, publishTimeout, credentials, tlsCa, tlsCert, tlsKey);
    }

    /// <summary>
    /// Reads <c>tlsCa</c>, <c>tlsCert</c> and <c>tlsKey</c>, each loaded once here so that a missing or malformed file is a
    /// configuration error at start rather than a failed connection.
    /// </summary>
    private static (string? Ca, string? Cert, string? Key) ReadTlsFiles(IConfigurationSection nats)
    {
        string? ca = ReadFile(nats.GetSection("tlsCa"));
        string? cert = ReadFile(nats.GetSection("tlsCert"));
        string? key = ReadFile(nats.GetSection("tlsKey"));
        if ((cert is null) != (key is null))
        {
            throw new SmtpConfigurationException($"{nats.Path}: tlsCert and tlsKey go together (a client certificate and its private key, PEM)");
        }

        if (ca is not null)
        {
            var roots = new X509Certificate2Collection();
            Load(nats.GetSection("tlsCa"), () => roots.ImportFromPemFile(ca));
            int count = roots.Count;
            foreach (X509Certificate2 root in roots)
            {
                root.Dispose();
            }

            if (count == 0)
            {
                throw new SmtpConfigurationException($"{nats.Path}:tlsCa: '{ca}' holds no PEM certificate");
            }
        }

        if (cert is not null)
        {
            Load(nats.GetSection("tlsCert"), () => X509Certificate2.CreateFromPemFile(cert, key).Dispose());
        }

        return (ca, cert, key);
    }

    private static void Load(IConfigurationSection setting, Action load)
    {
        try
        {
            load();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new SmtpConfigurationException($"{setting.Path}: cannot use '{Path.GetFullPath(setting.Value!)}': {ex.Message}", ex);
        }
    }

    private static string? ReadFile(IConfigurationSection setting) => setting.Value is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    private static int ReadInt(IConfigurationSection setting, int fallback) =>
        setting.Value is not { } text ? fallback
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value
        : throw new SmtpConfigurationException($"{setting.Path}: '{text}' is not a whole number");

    private static bool ReadBool(IConfigurationSection setting, bool fallback) => setting.Value switch
    {
        null => fallback,
        "1" => true,
        "0" => false,
        { } text when bool.TryParse(text, out bool value) => value,
        { } text => throw new SmtpConfigurationException($"{setting.Path}: '{text}' is not true or false"),
    };

    private static TimeSpan ReadMilliseconds(IConfigurationSection setting, TimeSpan fallback)
    {
        if (setting.Value is not { } text)
        {
            return fallback;
        }

        TimeSpan value = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int ms) ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan span) ? span
            : TimeSpan.Zero;
        return value > TimeSpan.Zero
            ? value
            : throw new SmtpConfigurationException($"{setting.Path}: '{text}' is not a positive time in milliseconds");
    }
}
