using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Smtpd.Tests.Connections;

/// <summary>maxClients, timeouts, greeting pause, line length, reverse DNS, close (§4, §9.1, §12).</summary>
public class ConnectionManagementTests
{
    [Fact]
    public async Task MaxClients_refuses_the_extra_connection_with_421_and_frees_the_slot_on_close()
    {
        int connects = 0;
        int closes = 0;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MaxClients = 2;
            o.MaxConnectionsPerClient = 0;
            o.OnConnect = (s, ct) =>
            {
                Interlocked.Increment(ref connects);
                return default;
            };
            o.OnClose = (s, ct) =>
            {
                Interlocked.Increment(ref closes);
                return default;
            };
        });
        var first = await server.ConnectAsync();
        await using var second = await server.ConnectAsync();
        await using (var third = await server.ConnectAsync(readGreeting: false))
        {
            Assert.Equal("421 mx.test Too many connected clients, try again in a moment", (await third.ReadReplyAsync()).Line);
            Assert.True(await third.IsClosedAsync());
        }

        await first.CommandAsync("QUIT");
        await first.DisposeAsync();
        await WaitUntil(() => server.Server.ConnectionCount <= 1);
        await using var fourth = await server.ConnectAsync();
        Assert.Equal(250, (await fourth.CommandAsync("NOOP")).Code);
        Assert.Equal(3, connects);
        await WaitUntil(() => Volatile.Read(ref closes) >= 2);
    }

    [Fact]
    public async Task MaxClients_slot_is_free_as_soon_as_the_session_is_over()
    {
        // Issue 11, bug 4: after QUIT the slot stayed taken while the server waited (up to 5 s) for the client's FIN.
        await using var server = await TestServer.StartAsync(o => o.MaxClients = 1);
        await using var first = await server.ConnectAsync();
        Assert.Equal(221, (await first.CommandAsync("QUIT")).Code);

        // The first client keeps its socket open: the server lingers for its FIN, but the session is over.
        await using var second = await server.ConnectAsync(readGreeting: false);
        Assert.Equal("220 mx.test ESMTP", (await second.ReadReplyAsync()).Line);
        Assert.Equal(250, (await second.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task MaxClients_slot_is_free_while_the_server_drains_a_session_that_is_over()
    {
        // Issue 11, bug 4, on the path that still drains: a plain QUIT with nothing behind it now closes at once, so
        // the test above no longer waits on the drain. With a command pipelined behind QUIT the server still reads
        // until the client's FIN (up to 5 s); the session is over, so its slot must be free meanwhile.
        await using var server = await TestServer.StartAsync(o => o.MaxClients = 1);
        await using var first = await server.ConnectAsync();
        await first.SendAsync("QUIT\r\nNOOP\r\n");
        Assert.Equal(221, (await first.ReadReplyAsync()).Code);

        // The first client keeps its socket open and sends no FIN.
        await using var second = await server.ConnectAsync(readGreeting: false);
        Assert.Equal("220 mx.test ESMTP", (await second.ReadReplyAsync()).Line);
        Assert.Equal(250, (await second.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task After_QUIT_the_server_closes_at_once_without_waiting_for_the_clients_FIN(bool inline)
    {
        // After QUIT the client sends nothing more: the server sends 221 and its FIN and is done, as Postfix is, instead
        // of lingering (up to 5 s) for the client's FIN; that wait cost a readiness event, a receive and a shutdown per
        // connection (W6).
        int closes = 0;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.UnsafePreferInlineScheduling = inline;
            o.OnClose = (s, ct) =>
            {
                Interlocked.Increment(ref closes);
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);

        // The client keeps its socket open: it still sees the server's FIN, and the connection is gone on the server.
        Assert.True(await client.IsClosedAsync());
        var watch = Stopwatch.StartNew();
        await WaitUntil(() => Volatile.Read(ref closes) == 1 && server.Server.ConnectionCount == 0);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"the connection ended {watch.Elapsed} after the QUIT");
    }

    [Fact]
    public async Task Idle_client_gets_421_after_SocketTimeout()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.SocketTimeout = TimeSpan.FromMilliseconds(300);
            o.HideEnhancedStatusCodes = false;
        });
        await using var client = await server.ConnectAsync();
        var watch = Stopwatch.StartNew();
        Assert.Equal("421 4.4.2 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        Assert.InRange(watch.ElapsedMilliseconds, 200, 3000);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Activity_resets_the_idle_timer()
    {
        // Six pauses of 500 ms outlast the 2 s timeout only if each command restarts it; 1.5 s of slack per pause keeps
        // a loaded machine (the whole suite runs in parallel on two cores) from turning a late wake-up into a timeout.
        await using var server = await TestServer.StartAsync(o => o.SocketTimeout = TimeSpan.FromMilliseconds(2000));
        await using var client = await server.ConnectAsync();
        for (int i = 0; i < 6; i++)
        {
            await Task.Delay(500);
            Reply reply = await client.CommandAsync("NOOP");
            Assert.True(reply.Code == 250, reply.Line);
        }
    }

    [Fact]
    public async Task The_idle_timer_is_suspended_while_a_handler_works()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.SocketTimeout = TimeSpan.FromMilliseconds(300);
            o.OnMailFrom = async (a, s, ct) =>
            {
                await Task.Delay(1200, ct);
                return default;
            };
            o.OnData = async (stream, s, ct) =>
            {
                await stream.CopyToAsync(Stream.Null, ct);
                await Task.Delay(1200, ct);
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@b.c>")).Code);
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("DATA");
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task A_client_stalling_mid_DATA_times_out_and_nothing_is_acknowledged()
    {
        Exception? seen = null;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.SocketTimeout = TimeSpan.FromMilliseconds(300);
            o.OnData = async (stream, s, ct) =>
            {
                try
                {
                    await stream.CopyToAsync(Stream.Null, ct);
                }
                catch (Exception ex)
                {
                    seen = ex;
                    throw;
                }

                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("DATA");
        await client.SendAsync("half a message");
        Assert.Equal("421 Timeout - closing connection", (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        Assert.True(await client.IsClosedAsync());
        Assert.IsType<IOException>(seen);
    }

    [Fact]
    public async Task Early_talker_gets_421_and_the_close()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.GreetingDelay = TimeSpan.FromMilliseconds(300);
            o.HideEnhancedStatusCodes = false;
        });
        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            await client.SendLineAsync("EHLO too.early");
            Assert.Equal("421 mx.test You talk too soon", (await client.ReadReplyAsync()).Line);
            Assert.True(await client.IsClosedAsync());
        }

        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            await client.SendLineAsync("MAIL FROM:<a@b.c>");
            Assert.Equal("421 4.4.2 mx.test You talk too soon", (await client.ReadReplyAsync()).Line);
        }

        await using (var client = await server.ConnectAsync(readGreeting: false))
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
            Assert.True(watch.ElapsedMilliseconds >= 250, $"greeting after {watch.ElapsedMilliseconds} ms");
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }
    }

    [Fact]
    public async Task The_default_greeting_pause_is_100_ms()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), new SmtpServerOptions().GreetingDelay);
        await using var server = await TestServer.StartAsync(new SmtpServerOptions { Name = "mx.test", DisableReverseLookup = true });
        await using var client = await server.ConnectAsync(readGreeting: false);
        await client.SendLineAsync("NOOP");
        Assert.Equal("421 mx.test You talk too soon", (await client.ReadReplyAsync()).Line);
    }

    [Fact]
    public async Task HTTP_requests_get_421()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        Assert.Equal("421 HTTP requests not allowed", (await client.CommandAsync("GET /path/file.html HTTP/1.0")).Line);
        Assert.True(await client.IsClosedAsync());
    }

    [Theory]
    [InlineData("POST / HTTP/1.1", true)]
    [InlineData("get /x HTTP/2.0", true)]
    [InlineData("GET / HTTP/1", false)]
    [InlineData("GET x HTTP/1.1", false)]
    public async Task HTTP_detection_follows_the_request_line_shape(string line, bool refused)
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        Assert.Equal(refused ? 421 : 500, (await client.CommandAsync(line)).Code);
    }

    [Fact]
    public async Task MaxCommandLength_accepts_a_line_at_the_limit_and_refuses_one_over()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxCommandLength = 100);
        await using (var client = await server.ConnectAsync())
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP " + new string('x', 95))).Code);
            Assert.Equal("421 Error: Command line too long", (await client.CommandAsync("NOOP " + new string('x', 96))).Line);
            Assert.True(await client.IsClosedAsync());
        }

        await using (var client = await server.ConnectAsync())
        {
            await client.SendAsync(new string('x', 150));
            Assert.Equal("421 Error: Command line too long", (await client.ReadReplyAsync()).Line);
        }
    }

    [Fact]
    public async Task Default_line_limit_is_16384_even_for_a_complete_line_in_one_chunk()
    {
        await using var server = await TestServer.StartAsync();
        await using (var client = await server.ConnectAsync())
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP " + new string('x', 16379))).Code);
            Assert.Equal("421 Error: Command line too long", (await client.CommandAsync("NOOP " + new string('x', 17000))).Line);
        }
    }

    [Fact]
    public async Task A_bare_LF_ends_a_command_and_a_bare_CR_stays_in_it()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        await client.SendAsync("NOOP\nNOOP\r\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(500, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task A_half_closed_client_gets_its_last_unterminated_command_answered()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        await client.SendAsync("NOOP\r\nNOOP");
        client.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.True(await client.IsClosedAsync());
    }

    private sealed class Resolver(Func<IPAddress, CancellationToken, ValueTask<IReadOnlyList<string>>> reverse) : IReverseDnsResolver
    {
        public int Calls;

        public ValueTask<IReadOnlyList<string>> ReverseAsync(IPAddress address, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            return reverse(address, cancellationToken);
        }
    }

    [Theory]
    [InlineData("Host.Example.COM.", "host.example.com")]
    [InlineData("bad_name!.example", "[127.0.0.1]")]
    [InlineData("-lead.example", "[127.0.0.1]")]
    public async Task The_resolver_names_the_client(string name, string expected)
    {
        var resolver = new Resolver((a, ct) => new([name]));
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisableReverseLookup = false;
            o.Resolver = resolver;
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal($"250 mx.test Nice to meet you, {expected}", (await client.CommandAsync("HELO x")).Line);
        Assert.Equal(1, resolver.Calls);
    }

    [Fact]
    public async Task DisableReverseLookup_skips_the_resolver()
    {
        var resolver = new Resolver((a, ct) => new(["host.example"]));
        await using var server = await TestServer.StartAsync(o => o.Resolver = resolver);
        await using var client = await server.ConnectAsync();
        Assert.Equal("250 mx.test Nice to meet you, [127.0.0.1]", (await client.CommandAsync("HELO x")).Line);
        Assert.Equal(0, resolver.Calls);
    }

    [Fact]
    public async Task A_hanging_resolver_delays_the_greeting_by_1_5_s_at_most()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1500), new SmtpServerOptions().ReverseLookupTimeout);
        var resolver = new Resolver(async (a, ct) =>
        {
            await Task.Delay(Timeout.Infinite, CancellationToken.None);
            return [];
        });
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisableReverseLookup = false;
            o.Resolver = resolver;
        });
        var watch = Stopwatch.StartNew();
        await using var client = await server.ConnectAsync();
        Assert.InRange(watch.ElapsedMilliseconds, 1300, 3500);
        Assert.Equal("250 mx.test Nice to meet you, [127.0.0.1]", (await client.CommandAsync("HELO x")).Line);
    }

    [Fact]
    public async Task A_failing_resolver_falls_back_to_the_address()
    {
        var resolver = new Resolver((a, ct) => throw new SocketException((int)SocketError.HostNotFound));
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisableReverseLookup = false;
            o.Resolver = resolver;
        });
        await using var client = await server.ConnectAsync();
        Assert.Equal("250 mx.test Nice to meet you, [127.0.0.1]", (await client.CommandAsync("HELO x")).Line);
    }

    [Fact]
    public async Task CloseAsync_refuses_new_commands_and_closes_idle_sessions_after_CloseTimeout()
    {
        await using var server = await TestServer.StartAsync(o => o.CloseTimeout = TimeSpan.FromMilliseconds(300));
        await using var busy = await server.ConnectAsync();
        await using var idle = await server.ConnectAsync();
        var watch = Stopwatch.StartNew();
        Task closing = server.Server.CloseAsync();
        Assert.True(server.Server.IsClosing);
        Assert.Equal("421 Server shutting down", (await busy.CommandAsync("EHLO x")).Line);
        Assert.True(await busy.IsClosedAsync());
        await busy.DisposeAsync();
        Assert.Equal("421 Server shutting down", (await idle.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        await idle.DisposeAsync();
        await closing.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(watch.ElapsedMilliseconds, 200, 4000);
        await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(server.EndPoint);
        });
    }

    [Fact]
    public async Task CloseAsync_returns_once_the_close_handlers_have_finished()
    {
        // Issue 11, bug 3: CloseAsync returned while OnClose handlers still ran.
        int finished = 0;
        var server = await TestServer.StartAsync(o =>
        {
            o.CloseTimeout = TimeSpan.Zero;
            o.OnClose = async (session, ct) =>
            {
                await Task.Delay(1000, CancellationToken.None);
                Interlocked.Increment(ref finished);
            };
        });
        await using (server)
        {
            await using var idle = await server.ConnectAsync();
            await using (var done = await server.ConnectAsync())
            {
                Assert.Equal(221, (await done.CommandAsync("QUIT")).Code);
            }

            await server.Server.CloseAsync();
            Assert.Equal(2, Volatile.Read(ref finished));
        }
    }

    [Fact]
    public async Task CloseAsync_waits_for_connections_accepted_but_not_yet_started()
    {
        // Issue 11, bug 3: a connection was registered when it started running, not when accepted. With the threads busy,
        // accepted connections wait in the thread pool's queue; CloseAsync returned once the running ones had ended, and
        // the queued ones then ran their handlers after it (or kept it waiting for their idle timeout, never told of the close).
        int connects = 0;
        int closes = 0;
        using var firstConnect = new SemaphoreSlim(0);
        using var busy = new ManualResetEventSlim();
        var server = await TestServer.StartAsync(o =>
        {
            o.CloseTimeout = TimeSpan.Zero;
            o.OnConnect = (session, ct) =>
            {
                Interlocked.Increment(ref connects);
                firstConnect.Release();

                // Handlers that keep their threads (for at most a moment): the connections accepted meanwhile queue up.
                busy.Wait(TimeSpan.FromSeconds(5), CancellationToken.None);
                return ValueTask.FromResult(SmtpResult.Accept());
            };
            o.OnClose = (session, ct) =>
            {
                Interlocked.Increment(ref closes);
                return ValueTask.CompletedTask;
            };
        });
        var clients = new List<Socket>();
        await using (server)
        {
            try
            {
                for (int i = 0; i < 12; i++)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    clients.Add(socket);
                    _ = socket.ConnectAsync(server.EndPoint);
                }

                // On a thread of its own: the pool's threads are the ones held.
                Task closing = await Task.Factory.StartNew(
                    () =>
                    {
                        Assert.True(firstConnect.Wait(TimeSpan.FromSeconds(10)));
                        Thread.Sleep(200);
                        Task close = server.Server.CloseAsync();
                        Thread.Sleep(100);
                        busy.Set();
                        return close;
                    },
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default);

                // The queued connections are told of the close too, so it ends well before their 20 s idle timeout.
                await closing.WaitAsync(TimeSpan.FromSeconds(10));
                (int connectsAtClose, int closesAtClose) = (Volatile.Read(ref connects), Volatile.Read(ref closes));

                // Every session that started has finished (one the close reached before its OnConnect has only an OnClose);
                // none starts or ends afterwards.
                Assert.True(closesAtClose >= connectsAtClose, $"{connectsAtClose} OnConnect, {closesAtClose} OnClose");
                await Task.Delay(1000);
                Assert.Equal((connectsAtClose, closesAtClose), (Volatile.Read(ref connects), Volatile.Read(ref closes)));
            }
            finally
            {
                busy.Set();
                clients.ForEach(socket => socket.Dispose());
            }
        }
    }

    [Fact]
    public async Task DisposeAsync_returns_once_the_close_handlers_have_finished()
    {
        // Issue 11, bug 3: DisposeAsync returned before OnClose finished, then disposed the stopping token under it.
        int finished = 0;
        Exception? failure = null;
        var server = await TestServer.StartAsync(o => o.OnClose = async (session, ct) =>
        {
            try
            {
                await Task.Delay(5000, ct);
            }
            catch (OperationCanceledException)
            {
                // Disposal cancels the token: the handler winds down.
            }

            try
            {
                await Task.Delay(300, CancellationToken.None);
                _ = ct.WaitHandle;
                Interlocked.Increment(ref finished);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        await using var client = await server.ConnectAsync();
        await server.DisposeAsync();
        Assert.Null(failure);
        Assert.Equal(1, Volatile.Read(ref finished));
    }

    [Fact]
    public async Task CloseAsync_lets_a_message_in_progress_complete()
    {
        var inData = new TaskCompletionSource();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.CloseTimeout = TimeSpan.FromMilliseconds(100);
            o.OnData = async (stream, s, ct) =>
            {
                inData.TrySetResult();
                await stream.CopyToAsync(Stream.Null, ct);
                return default;
            };
        });
        await using var client = await server.ConnectAsync();
        await client.CommandAsync("EHLO x");
        await client.CommandAsync("MAIL FROM:<a@b.c>");
        await client.CommandAsync("RCPT TO:<r@b.c>");
        await client.CommandAsync("DATA");
        await client.SendAsync("first part\r\n");
        await inData.Task;
        Task closing = server.Server.CloseAsync();
        await Task.Delay(400);
        await client.SendAsync("second part\r\n.\r\n");
        Assert.Equal("250 OK: message queued", (await client.ReadReplyAsync()).Line);
        Assert.Equal(421, (await client.ReadReplyAsync()).Code);
        await client.DisposeAsync();
        await closing.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Listens_on_several_endpoints()
    {
        var server = new SmtpServer(TestServer.Defaults());
        await using var _ = server;
        var a = (IPEndPoint)await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var b = (IPEndPoint)await server.ListenAsync(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Equal(2, server.EndPoints.Count);
        foreach (IPEndPoint endPoint in new[] { a, b })
        {
            await using var client = await RawClient.ConnectAsync(endPoint);
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        }
    }

    [Fact]
    public async Task Session_endpoints_and_id()
    {
        SmtpSession? session = null;
        await using var server = await TestServer.StartAsync(o => o.OnConnect = (s, ct) =>
        {
            session = s;
            return default;
        });
        await using var client = await server.ConnectAsync();
        Assert.Matches("^[0-9a-v]{16}$", session!.Id);
        Assert.Equal(IPAddress.Loopback, session.RemoteAddress);
        Assert.Equal(((IPEndPoint)client.Socket.LocalEndPoint!).Port, session.RemotePort);
        Assert.Equal(IPAddress.Loopback, session.LocalAddress);
        Assert.Equal(server.Port, session.LocalPort);
        Assert.Equal("[127.0.0.1]", session.ClientHostname);
        Assert.Null(session.OpeningCommand);
        Assert.Null(session.HostNameAppearsAs);
        Assert.Equal(1, session.Transaction);
        Assert.Equal("SMTP", session.TransmissionType);
        Assert.False(session.Secure);
        Assert.Null(session.User);
    }

    [Fact]
    public void Session_ids_are_unique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => SmtpSession.NewId()).ToHashSet();
        Assert.Equal(1000, ids.Count);
        Assert.All(ids, id => Assert.Matches("^[0-9a-v]{16}$", id));
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "condition not met in time");
            await Task.Delay(10);
        }
    }
}
