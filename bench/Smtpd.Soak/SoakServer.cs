using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Smtpd.Soak;

/// <summary>
/// The server under soak ('serve' mode, a child process of the driver): the library configured as an Internet-facing
/// application would be (a size limit with over-size refusal, STARTTLS with a certificate, the default timeouts and
/// limits otherwise), a DATA handler that reads each message to its end and records its soak id. Stopped with SIGTERM,
/// it writes its <see cref="ServerLedger"/>.
/// </summary>
internal static class SoakServer
{
    /// <summary>The header field carrying a message's soak id (nine digits).</summary>
    public const string IdField = "X-Soak-Id: ";

    public static async Task<int> RunAsync(string[] args)
    {
        string ledgerPath = Argument(args, "--ledger");
        int messages = int.Parse(Argument(args, "--messages"), CultureInfo.InvariantCulture);
        int sizeLimit = int.Parse(Argument(args, "--size-limit"), CultureInfo.InvariantCulture);

        var ledger = new ServerLedger();
        // The ledger's pages are touched now, so the RSS samples show the server's growth, not the ledger filling in.
        int[] counts = new int[messages];
        counts.AsSpan().Clear();
        var unexpected = new ConcurrentDictionary<int, int>();
        long handlerCalls = 0, accepted = 0, incomplete = 0, oversize = 0, unidentified = 0;
        using var meters = new ServerMeters();
        using X509Certificate2 certificate = SelfSigned();

        var options = new SmtpServerOptions
        {
            Name = "soak.test",
            DisableReverseLookup = true,
            Size = sizeLimit,
            RejectOversized = true,
            Certificate = new SmtpTlsCertificate(certificate),
            AuthOptional = true,
            DisabledCommands = ["AUTH"],
            OnData = async (stream, session, cancellationToken) =>
            {
                Interlocked.Increment(ref handlerCalls);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                try
                {
                    int head = 0;
                    int read;
                    while (head < 1024 && (read = await stream.ReadAsync(buffer.AsMemory(head, 1024 - head), cancellationToken)) > 0)
                    {
                        head += read;
                    }

                    int id = FindId(buffer.AsSpan(0, head));
                    while (await stream.ReadAsync(buffer, cancellationToken) > 0)
                    {
                    }

                    if (stream.SizeExceeded)
                    {
                        Interlocked.Increment(ref oversize);
                        return SmtpResult.Reject(552, "Error: message exceeds fixed maximum message size", "5.3.4");
                    }

                    Interlocked.Increment(ref accepted);
                    if (id < 0)
                    {
                        Interlocked.Increment(ref unidentified);
                    }
                    else if (id < counts.Length)
                    {
                        Interlocked.Increment(ref counts[id]);
                    }
                    else
                    {
                        unexpected.AddOrUpdate(id, 1, (_, n) => n + 1);
                    }

                    return SmtpResult.Accept();
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    Interlocked.Increment(ref incomplete);
                    throw;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            },
        };

        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        await using var server = new SmtpServer(options);
        EndPoint endPoint = await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        Console.WriteLine($"listening {endPoint}");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM: the driver is done.
        }

        ledger.OpenAtStop = meters.ActiveConnections;
        using (var closeLimit = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await server.CloseAsync(closeLimit.Token);
            }
            catch (OperationCanceledException)
            {
                // Sessions still open were aborted.
            }
        }

        ledger.Counts = counts.Select(c => (byte)Math.Min(c, 255)).ToArray();
        ledger.Unexpected = new Dictionary<int, int>(unexpected);
        ledger.HandlerCalls = handlerCalls;
        ledger.Accepted = accepted;
        ledger.Incomplete = incomplete;
        ledger.Oversize = oversize;
        ledger.Unidentified = unidentified;
        ledger.Meters = meters.Snapshot();
        await File.WriteAllTextAsync(ledgerPath, JsonSerializer.Serialize(ledger));
        return 0;
    }

    /// <summary>The soak id in the header area, or -1.</summary>
    private static int FindId(ReadOnlySpan<byte> head)
    {
        int at = head.IndexOf("X-Soak-Id: "u8);
        if (at < 0 || !Utf8Parser.TryParse(head[(at + IdField.Length)..], out int id, out int consumed) || consumed != 9)
        {
            return -1;
        }

        return id;
    }

    private static string Argument(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : throw new ArgumentException($"serve needs {name}");
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=soak.test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("soak.test");
        request.CertificateExtensions.Add(names.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
    }
}
