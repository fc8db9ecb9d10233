// A worker for Smtpd's JetStream target (docs/scale-out.md): pulls messages from the stream with a durable consumer and
// writes each one as <id>.eml + <id>.json (the folder store's format) into a folder, acknowledging it only once both
// files and their names are on disk (fsync). Copy it and replace WriteAsync with your own processing.
//
//   dotnet run --project samples/JetStreamConsumer -- --url nats://127.0.0.1:4222 --stream MAIL --out ./inbox [--drain]
//
// --drain: exit with status 0 once the stream has nothing left for this consumer (for batch jobs and tests);
// otherwise it runs until Ctrl-C or SIGTERM.
// --url may carry a user and password (nats://USER:PASSWORD@HOST:PORT, percent-encoded) and use tls:// servers,
// whose certificates are checked against the system's trusted roots (SSL_CERT_FILE names another bundle);
// --creds FILE authenticates with a NATS .creds file; --tls-ca FILE trusts a private CA for NATS only, and --tls-cert FILE
// --tls-key FILE (PEM) present a client certificate to servers that verify clients. The URLs are only ever shown
// without user and password.
using System.Runtime.InteropServices;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

const string EnvelopeHeader = "Smtpd-Envelope";   // the .json document, base64
const string RevokedHeader = "Smtpd-Revoked";     // a message answered 451 and withdrawn: skip it
const string ConsumerName = "smtpd-consumer";      // the durable consumer: several workers may share it

if (Arguments.Parse(args) is not { } arguments)
{
    await Console.Error.WriteLineAsync(
        "usage: JetStreamConsumer --url nats://HOST:PORT[,...] --stream MAIL --out DIR [--creds FILE] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--drain]");
    return 2;
}

(string url, string stream, string output, bool drain) = (arguments.Url, arguments.Stream, arguments.Output, arguments.Drain);

string temporary = Path.Combine(output, ".tmp");
Directory.CreateDirectory(temporary);
var stop = new CancellationTokenSource(); // not disposed: the exit handlers may still cancel it
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

await using var connection = new NatsConnection(new NatsOpts
{
    Url = url,
    Name = "smtpd-jetstream-consumer",
    MaxReconnectRetry = -1,
    AuthOpts = arguments.Creds is null ? NatsAuthOpts.Default : NatsAuthOpts.Default with { CredsFile = arguments.Creds },
    TlsOpts = new NatsTlsOpts { CaFile = arguments.TlsCa, CertFile = arguments.TlsCert, KeyFile = arguments.TlsKey },
});
var js = new NatsJSContext(connection);
INatsJSConsumer consumer;
try
{
    consumer = await js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(ConsumerName)
    {
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        AckWait = TimeSpan.FromSeconds(30),
        MaxAckPending = 1000,
    }, stop.Token);
}
catch (NatsException ex)
{
    // One line, with the URLs as scheme, host and port only: a password in --url is never shown.
    Exception reason = ex;
    while (reason.InnerException is not null)
    {
        reason = reason.InnerException;
    }

    await Console.Error.WriteLineAsync($"cannot use stream {stream} at {ForDisplay(url)}: {reason.Message}");
    return 1;
}

long written = 0;
try
{
    if (drain)
    {
        // Fetch what is there until a fetch comes back empty and the consumer has nothing pending or unacknowledged.
        while (true)
        {
            int fetched = 0;
            await foreach (INatsJSMsg<byte[]> msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 200 }, cancellationToken: stop.Token))
            {
                fetched++;
                written += await HandleAsync(msg, stop.Token);
            }

            if (fetched == 0)
            {
                await consumer.RefreshAsync(stop.Token);
                if (consumer.Info.NumPending == 0 && consumer.Info.NumAckPending == 0)
                {
                    break;
                }

                await Task.Delay(250, stop.Token);
            }
        }
    }
    else
    {
        await foreach (INatsJSMsg<byte[]> msg in consumer.ConsumeAsync<byte[]>(cancellationToken: stop.Token))
        {
            written += await HandleAsync(msg, stop.Token);
        }
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}

Console.WriteLine($"wrote {written} message(s) to {output}");
return 0;

// Writes one message and acknowledges it; a message without the envelope header is not Smtpd's: it is terminated.
async Task<int> HandleAsync(INatsJSMsg<byte[]> msg, CancellationToken cancellationToken)
{
    NatsHeaders? headers = msg.Headers;
    if (headers is not null && headers.ContainsKey(RevokedHeader))
    {
        await msg.AckAsync(cancellationToken: cancellationToken);
        return 0;
    }

    if (headers is null || !headers.TryGetValue("Nats-Msg-Id", out var id) || !headers.TryGetValue(EnvelopeHeader, out var envelope)
        || id.ToString().IndexOfAny(['/', '\\']) >= 0 || id.ToString().StartsWith('.'))
    {
        await Console.Error.WriteLineAsync($"skipping message {msg.Metadata?.Sequence.Stream}: no Smtpd id or envelope");
        await msg.AckTerminateAsync(cancellationToken: cancellationToken);
        return 0;
    }

    // A message delivered again (this worker died before its acknowledgement) is written again under the same id.
    await WriteAsync(id.ToString(), msg.Data ?? [], Convert.FromBase64String(envelope.ToString()), cancellationToken);
    await msg.AckAsync(new AckOpts { DoubleAck = true }, cancellationToken);
    return 1;
}

// As the folder store does: both files flushed to disk under a temporary name, the .eml renamed first, the .json last,
// then the folder flushed so that the new names survive a power loss too. Only then is the message acknowledged; an
// exception here leaves it unacknowledged, and JetStream delivers it again.
async Task WriteAsync(string id, byte[] eml, byte[] json, CancellationToken cancellationToken)
{
    foreach ((string extension, byte[] content) in new[] { (".eml", eml), (".json", json) })
    {
        string path = Path.Combine(temporary, id + extension);
        await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await file.WriteAsync(content, cancellationToken);
            file.Flush(flushToDisk: true);
        }
    }

    File.Move(Path.Combine(temporary, id + ".eml"), Path.Combine(output, id + ".eml"), overwrite: true);
    File.Move(Path.Combine(temporary, id + ".json"), Path.Combine(output, id + ".json"), overwrite: true);
    Folder.FlushToDisk(output);
}

// "nats://user:password@host:4222,tls://host2:4222" as "nats://host:4222,tls://host2:4222".
static string ForDisplay(string urls) => string.Join(",", urls.Split(',', StringSplitOptions.TrimEntries).Select(
    entry => Uri.TryCreate(entry, UriKind.Absolute, out Uri? uri) ? $"{uri.Scheme}://{uri.Authority}" : "(a URL that is not one)"));

/// <summary>The command line.</summary>
internal sealed record Arguments(string Url, string Stream, string Output, string? Creds, string? TlsCa, string? TlsCert, string? TlsKey, bool Drain)
{
    /// <summary>The arguments, or null when they are not a valid command line.</summary>
    public static Arguments? Parse(string[] args)
    {
        var parsed = new Arguments("", "", "", null, null, null, null, false);
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            Arguments? next = (args[i], value) switch
            {
                ("--url", { } url) => parsed with { Url = url },
                ("--stream", { } stream) => parsed with { Stream = stream },
                ("--out", { } output) => parsed with { Output = output },
                ("--creds", { } creds) => parsed with { Creds = creds },
                ("--tls-ca", { } ca) => parsed with { TlsCa = ca },
                ("--tls-cert", { } cert) => parsed with { TlsCert = cert },
                ("--tls-key", { } key) => parsed with { TlsKey = key },
                ("--drain", _) => parsed with { Drain = true },
                _ => null,
            };
            if (next is null)
            {
                return null;
            }

            parsed = next;
            i += args[i] == "--drain" ? 0 : 1;
        }

        bool complete = parsed.Url.Length > 0 && parsed.Stream.Length > 0 && parsed.Output.Length > 0;
        return complete && (parsed.TlsCert is null) == (parsed.TlsKey is null) ? parsed : null;
    }
}

/// <summary>
/// fsync of a folder, which makes the renames into it durable. .NET cannot open a folder as a file, so this calls
/// <c>open</c>, <c>fsync</c> and <c>close</c> from the C library, as Smtpd's folder store does. On Windows it does nothing:
/// NTFS journals folder changes and has no folder fsync.
/// </summary>
internal static partial class Folder
{
    /// <summary>Flushes the entries of the folder <paramref name="path"/> to disk.</summary>
    /// <exception cref="IOException">The folder cannot be opened or flushed.</exception>
    public static void FlushToDisk(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int descriptor = Open(path, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            throw new IOException($"open '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw new IOException($"fsync '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
