using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Connections;

/// <summary>
/// <see cref="SmtpServerOptions.UnsafePreferInlineScheduling"/>: the server's own readiness loops must do everything the
/// runtime's socket engine does (timeouts, shutdown, TLS, PROXY, full send buffers, aborts, descriptor reuse), so most
/// tests run both ways; and without the option a blocking handler must stall no other connection.
/// </summary>
public class InlineSchedulingTests
{
    private static Task<TestServer> StartAsync(bool inline, Action<SmtpServerOptions>? configure = null) => TestServer.StartAsync(o =>
    {
        o.UnsafePreferInlineScheduling = inline;
        o.AuthOptional = true;
        configure?.Invoke(o);
    });

    [Fact]
    public async Task Without_the_option_a_blocking_handler_stalls_no_other_connection()
    {
        using var blocking = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using var server = await StartAsync(inline: false, o => o.OnMailFrom = (address, session, ct) =>
        {
            if (address.Address == "blocks@example.com")
            {
                // A handler that blocks its thread (what the option's documentation forbids), far longer than a client
                // waits for a reply: a connection stalled behind it fails the test instead of being served after it.
                blocking.Set();
                release.Wait(TimeSpan.FromSeconds(60), CancellationToken.None);
            }

            return default;
        });
        await using var blocked = await server.ConnectAsync();
        await blocked.CommandAsync("EHLO a");
        await blocked.SendLineAsync("MAIL FROM:<blocks@example.com>");
        Assert.True(blocking.Wait(TimeSpan.FromSeconds(10)));
        try
        {
            // Every new connection and command is served while the handler holds its thread, promptly.
            var served = Stopwatch.StartNew();
            for (int i = 0; i < 4; i++)
            {
                await using var other = await server.ConnectAsync();
                Assert.Equal(250, (await other.CommandAsync("EHLO b")).Code);
                Assert.Equal(250, (await other.CommandAsync("MAIL FROM:<other@example.com>")).Code);
                Assert.Equal(221, (await other.CommandAsync("QUIT")).Code);
            }

            Assert.True(served.Elapsed < TimeSpan.FromSeconds(8), $"the other connections took {served.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            release.Set();
        }

        Assert.Equal(250, (await blocked.ReadReplyAsync()).Code);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MailKit_sends_messages_plain_and_with_STARTTLS(bool inline)
    {
        int messages = 0;
        await using var server = await StartAsync(inline, o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Certificate = TestPki.Shared.Server;
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                Interlocked.Increment(ref messages);
                return SmtpResult.Accept();
            };
        });
        for (int i = 0; i < 3; i++)
        {
            await MailKitSender.SendAsync(server.EndPoint, SecureSocketOptions.None, "plain@example.com");
            await MailKitSender.SendAsync(server.EndPoint, SecureSocketOptions.StartTls, "tls@example.com");
        }

        Assert.Equal(6, messages);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MailKit_sends_over_implicit_TLS(bool inline)
    {
        bool secure = false;
        await using var server = await StartAsync(inline, o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Secure = true;
            o.Certificate = TestPki.Shared.Server;
            o.OnData = async (stream, session, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                secure = session.Secure;
                return SmtpResult.Accept();
            };
        });
        await MailKitSender.SendAsync(server.EndPoint, SecureSocketOptions.SslOnConnect, "tls@example.com");
        Assert.True(secure);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_idle_client_gets_421_after_the_socket_timeout(bool inline)
    {
        await using var server = await StartAsync(inline, o => o.SocketTimeout = TimeSpan.FromMilliseconds(300));
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO a")).Code);
        var watch = Stopwatch.StartNew();
        Assert.Equal("421 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        Assert.InRange(watch.ElapsedMilliseconds, 200, 4000);
        Assert.True(await client.IsClosedAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CloseAsync_answers_idle_sessions_421_and_DisposeAsync_ends_the_rest(bool inline)
    {
        int closes = 0;
        var server = await StartAsync(inline, o =>
        {
            o.CloseTimeout = TimeSpan.FromMilliseconds(200);
            o.OnClose = (session, ct) =>
            {
                Interlocked.Increment(ref closes);
                return default;
            };
        });
        await using (server)
        {
            await using var idle = await server.ConnectAsync();
            Assert.Equal(250, (await idle.CommandAsync("EHLO a")).Code);
            await server.Server.CloseAsync();
            Assert.Equal("421 Server shutting down", (await idle.ReadReplyAsync()).Line);
            Assert.True(await idle.IsClosedAsync());
            Assert.Equal(1, Volatile.Read(ref closes));
        }

        // Disposal aborts sessions waiting on the loop at once (their wait fails), and their close handlers run.
        int aborted = 0;
        var second = await StartAsync(inline, o => o.OnClose = (session, ct) =>
        {
            Interlocked.Increment(ref aborted);
            return default;
        });
        await using var waiting = await second.ConnectAsync();
        await using var inMessage = await second.ConnectAsync();
        Assert.Equal(250, (await inMessage.CommandAsync("EHLO a")).Code);
        Assert.Equal(250, (await inMessage.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await inMessage.CommandAsync("RCPT TO:<b@example.com>")).Code);
        Assert.Equal(354, (await inMessage.CommandAsync("DATA")).Code);
        await inMessage.SendAsync("Subject: half a message\r\n");
        var watch = Stopwatch.StartNew();
        await second.DisposeAsync();
        Assert.InRange(watch.ElapsedMilliseconds, 0, 4000);
        Assert.Equal(2, Volatile.Read(ref aborted));
        Assert.Equal(0, second.Server.ConnectionCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_PROXY_header_in_pieces_is_read_and_the_session_follows(bool inline)
    {
        IPAddress? client = null;
        await using var server = await StartAsync(inline, o =>
        {
            o.UseProxy = true;
            o.OnConnect = (session, ct) =>
            {
                client = session.RemoteAddress;
                return default;
            };
        });
        await using var connection = await server.ConnectAsync(readGreeting: false);
        await connection.SendAsync("PROXY TCP4 198.51.100.22 ");
        await Task.Delay(100);
        await connection.SendAsync("203.0.113.7 35646 25\r\nEHLO a\r\n");
        Assert.Equal(220, (await connection.ReadReplyAsync()).Code);
        Assert.Equal(250, (await connection.ReadReplyAsync()).Code);
        Assert.Equal(IPAddress.Parse("198.51.100.22"), client);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task BDAT_chunks_in_pieces_large_and_pipelined_reach_the_handler_exactly(bool inline)
    {
        var capture = new Chunking.MessageCapture();
        await using var server = await Chunking.ChunkingServer.StartAsync(capture, o => o.UnsafePreferInlineScheduling = inline);
        await using var client = await Chunking.ChunkingServer.OpenAsync(server);

        // A chunk that arrives in small pieces, then one larger than any read buffer together with the next command.
        byte[] small = Encoding.ASCII.GetBytes("Subject: pieces\r\n\r\n.\r\n");
        byte[] framed = Chunking.ChunkingServer.Chunk(small);
        for (int i = 0; i < framed.Length; i += 5)
        {
            await client.SendBytesAsync(framed[i..Math.Min(framed.Length, i + 5)]);
            await Task.Delay(2);
        }

        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        byte[] large = new byte[300_000];
        new Random(14).NextBytes(large);
        await client.SendBytesAsync([.. Chunking.ChunkingServer.Chunk(large, last: true), .. Encoding.ASCII.GetBytes("NOOP\r\n")]);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal([.. small, .. large], capture.Messages.Single());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Handlers_that_go_asynchronous_come_back_to_the_session(bool inline)
    {
        await using var server = await StartAsync(inline, o =>
        {
            o.OnMailFrom = async (address, session, ct) =>
            {
                await Task.Yield();
                await Task.Run(() => Thread.Sleep(20), ct);
                return SmtpResult.Accept();
            };
            o.OnData = async (stream, session, ct) =>
            {
                await Task.Delay(30, ct);
                byte[] buffer = new byte[7];
                int read = await stream.ReadAsync(buffer, ct);
                await stream.CopyToAsync(Stream.Null, ct);
                return Encoding.ASCII.GetString(buffer, 0, read) == "Subject" ? SmtpResult.Accept() : SmtpResult.Reject(554, "unexpected body");
            };
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO a")).Code);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.com>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            Assert.Equal(250, (await client.CommandAsync("Subject: hi\r\n\r\nbody\r\n.")).Code);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_cancelled_read_inside_a_message_ends_the_handlers_wait(bool inline)
    {
        var observed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(inline, o => o.OnData = async (stream, session, ct) =>
        {
            using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                await stream.CopyToAsync(Stream.Null, soon.Token);
            }
            catch (Exception ex)
            {
                observed.TrySetResult(ex);
                throw;
            }

            return SmtpResult.Accept();
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO a")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: stalls\r\n");
        Exception ex = await observed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsAssignableFrom<OperationCanceledException>(ex);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Replies_wait_for_a_client_that_reads_late_and_all_arrive(bool inline)
    {
        // Far more replies than the socket buffers hold, sent while the client reads nothing: the server's sends would
        // block, and it must wait for room, then go on.
        const int commands = 40_000;
        await using var server = await StartAsync(inline);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(server.EndPoint);
        byte[] batch = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("EHLO client.example.com\r\n", commands)) + "QUIT\r\n");
        Task send = socket.SendAsync(batch, SocketFlags.None);
        await Task.Delay(500);

        // Read until the server closes after QUIT, counting the last lines of the EHLO replies.
        byte[] buffer = new byte[65536];
        var line = new List<byte>();
        int replies = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(20))) > 0)
        {
            foreach (byte b in buffer.AsSpan(0, read))
            {
                line.Add(b);
                if (b == '\n')
                {
                    if (line.Count >= 4 && line[0] == '2' && line[1] == '5' && line[2] == '0' && line[3] == ' ')
                    {
                        replies++;
                    }

                    line.Clear();
                }
            }
        }

        await send;
        Assert.Equal(commands, replies);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connections_reset_while_waiting_end_and_their_descriptors_are_reused_cleanly(bool inline)
    {
        int closes = 0;
        await using var server = await StartAsync(inline, o => o.OnClose = (session, ct) =>
        {
            Interlocked.Increment(ref closes);
            return default;
        });
        for (int i = 0; i < 150; i++)
        {
            var client = await server.ConnectAsync();
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            if (i % 2 == 0)
            {
                // An abortive close (RST) while the server waits for the next command.
                client.Socket.LingerState = new LingerOption(true, 0);
            }

            await client.DisposeAsync();
        }

        await WaitUntil(() => Volatile.Read(ref closes) == 150 && server.Server.ConnectionCount == 0);

        // Every descriptor and loop slot has been reused by now: sessions still work, one at a time and together.
        var clients = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => server.ConnectAsync()));
        foreach (RawClient client in clients)
        {
            Assert.Equal(250, (await client.CommandAsync("EHLO again")).Code);
        }

        foreach (RawClient client in clients)
        {
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
            await client.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_burst_of_connections_is_accepted_and_served(bool inline)
    {
        await using var server = await StartAsync(inline, o => o.MaxClients = 0);
        var connects = new List<Task<RawClient>>();
        for (int i = 0; i < 100; i++)
        {
            connects.Add(RawClient.ConnectAsync(server.EndPoint));
        }

        RawClient[] clients = await Task.WhenAll(connects);
        await Task.WhenAll(clients.Select(async client =>
        {
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
            Assert.Equal(250, (await client.CommandAsync("EHLO burst")).Code);
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
            await client.DisposeAsync();
        }));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_Unix_domain_socket_listener_serves_sessions(bool inline)
    {
        string path = Path.Combine(Path.GetTempPath(), $"smtpd-{Guid.NewGuid():N}.sock");
        try
        {
            await using var server = new SmtpServer(TestServer.Defaults(o =>
            {
                o.UnsafePreferInlineScheduling = inline;
                o.AuthOptional = true;
            }));
            await server.ListenAsync(new UnixDomainSocketEndPoint(path));
            for (int i = 0; i < 3; i++)
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
                await using var stream = new NetworkStream(socket);
                using var reader = new StreamReader(stream, Encoding.ASCII);
                Assert.StartsWith("220 ", await reader.ReadLineAsync());
                await stream.WriteAsync("NOOP\r\nQUIT\r\n"u8.ToArray());
                Assert.StartsWith("250 ", await reader.ReadLineAsync());
                Assert.StartsWith("221 ", await reader.ReadLineAsync());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), "condition not reached in 15 s");
            await Task.Delay(20);
        }
    }
}
