using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Soak;

/// <summary>
/// The legitimate load: <see cref="SoakOptions.Connections"/> clients at once, each sending up to
/// <see cref="SoakOptions.MessagesPerConnection"/> messages per connection (MAIL, RCPT and DATA pipelined) and then
/// reconnecting, until <see cref="SoakOptions.Messages"/> ids are used. A message is acknowledged when the reply after
/// its final dot is 250; nothing is retried, so every failure shows in the report.
/// </summary>
internal sealed class WellBehavedClients(SoakOptions options, EndPoint server, SoakStats stats)
{
    private const string Kind = "well-behaved";
    private static readonly byte[] Ehlo = Encoding.ASCII.GetBytes("EHLO client.soak.test\r\n");
    private static readonly byte[] Envelope = Encoding.ASCII.GetBytes("MAIL FROM:<soak@client.test>\r\nRCPT TO:<rcpt@soak.test>\r\nDATA\r\n");
    private static readonly byte[] Quit = Encoding.ASCII.GetBytes("QUIT\r\n");
    private int _next = -1;
    private long _acknowledged;

    /// <summary>For each id, 1 once the server acknowledged it with 250.</summary>
    public byte[] Acknowledged { get; } = new byte[options.Messages];

    public long AcknowledgedCount => Interlocked.Read(ref _acknowledged);

    public Task RunAsync(CancellationToken abort) =>
        Task.WhenAll(Enumerable.Range(0, options.Connections).Select(_ => Task.Run(() => ClientAsync(abort), CancellationToken.None)));

    private async Task ClientAsync(CancellationToken abort)
    {
        var message = new SoakMessage(options.MessageBytes);
        while (!abort.IsCancellationRequested && Volatile.Read(ref _next) < options.Messages - 1)
        {
            try
            {
                await using SoakConnection connection = await SoakConnection.ConnectAsync(server, options.Timeout);
                await using CancellationTokenRegistration _ = abort.Register(connection.Abort);
                if (await connection.ReadReplyAsync() != 220)
                {
                    stats.Record(Kind, "no 220 greeting");
                    continue;
                }

                await connection.SendAsync(Ehlo);
                if (await connection.ReadReplyAsync() != 250)
                {
                    stats.Record(Kind, "EHLO refused");
                    continue;
                }

                for (int sent = 0; sent < options.MessagesPerConnection; sent++)
                {
                    int id = Interlocked.Increment(ref _next);
                    if (id >= options.Messages)
                    {
                        break;
                    }

                    message.WriteId(id);
                    await connection.SendAsync(Envelope);
                    int mail = await connection.ReadReplyAsync();
                    int rcpt = await connection.ReadReplyAsync();
                    int data = await connection.ReadReplyAsync();
                    if (mail != 250 || rcpt != 250 || data != 354)
                    {
                        stats.Record(Kind, $"envelope refused ({mail} {rcpt} {data})");
                        break;
                    }

                    await connection.SendAsync(message.Bytes);
                    int reply = await connection.ReadReplyAsync();
                    if (reply != 250)
                    {
                        stats.Record(Kind, $"message refused ({reply})");
                        break;
                    }

                    Acknowledged[id] = 1;
                    Interlocked.Increment(ref _acknowledged);
                }

                await connection.SendAsync(Quit);
                stats.Record(Kind, await connection.ReadReplyAsync() == 221 ? "session ended with 221" : "QUIT not answered 221");
            }
            catch (SoakHangException ex)
            {
                stats.RecordHang(Kind, ex.Message);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                stats.Record(Kind, abort.IsCancellationRequested ? "aborted by the run limit" : "connection error: " + ex.GetType().Name);
            }
        }
    }
}
