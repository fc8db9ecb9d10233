using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Smtpd.Tests.Protocol;

/// <summary>Recipients: duplicates and large envelopes.</summary>
public class RecipientTests
{
    private const int ManyRecipients = 40_000;

    /// <summary>
    /// Issue 11, bug 7: every RCPT scanned the whole recipient list for a duplicate (twice), so with the default of no
    /// recipient limit 40,000 recipients cost over a billion address comparisons (68 s on the 2-core CI machine). The
    /// 20 s bound is far above what a linear check needs and far below what the quadratic one needs.
    /// </summary>
    [Fact]
    public async Task Tens_of_thousands_of_recipients_are_checked_for_duplicates_in_linear_time()
    {
        // The envelope bound (MaxEnvelopeSize, 1 MiB by default) would stop these long addresses first.
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.MaxEnvelopeSize = 0;
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);

        // Long addresses of one length that differ only near their end: each comparison reads most of both.
        string prefix = new string('l', 64) + "@" + new string('d', 63) + "." + new string('e', 63) + "." + new string('f', 40);
        var script = new StringBuilder(ManyRecipients * 260);
        for (int i = 0; i < ManyRecipients; i++)
        {
            script.Append("RCPT TO:<").Append(prefix).Append(i.ToString("D6")).Append(".com>\r\n");
        }

        script.Append("RCPT TO:<").Append(prefix).Append(7.ToString("D6")).Append(".com>\r\n");
        byte[] bytes = Encoding.ASCII.GetBytes(script.ToString());
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Task send = client.Socket.SendAsync(bytes, SocketFlags.None, timeout.Token).AsTask();
        int replies = await CountRepliesAsync(client.Socket, ManyRecipients + 1, timeout.Token);
        await send;
        Assert.Equal(ManyRecipients + 1, replies);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{clock.Elapsed}");
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    /// <summary>Reads until <paramref name="expected"/> <c>250</c> reply lines arrived (fails on any other reply).</summary>
    private static async Task<int> CountRepliesAsync(Socket socket, int expected, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[65536];
        int replies = 0;
        int lineStart = 0;
        int carried = 0;
        while (replies < expected)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(carried), SocketFlags.None, cancellationToken);
            Assert.True(n > 0, $"closed after {replies} replies");
            int end = carried + n;
            lineStart = 0;
            for (int i = 0; i < end; i++)
            {
                if (buffer[i] == (byte)'\n')
                {
                    Assert.True(buffer.AsSpan(lineStart).StartsWith("250 "u8), Encoding.ASCII.GetString(buffer, lineStart, i - lineStart));
                    replies++;
                    lineStart = i + 1;
                }
            }

            carried = end - lineStart;
            buffer.AsSpan(lineStart, carried).CopyTo(buffer);
        }

        return replies;
    }
}
