using System.Net.Sockets;
using System.Text;

namespace Smtpd.Tests.Server;

/// <summary>How the built program stops: gracefully on SIGTERM, and durably when killed outright.</summary>
public class ServerSignalTests
{
    /// <summary>The rounds of the SIGKILL test: 20 in a row, as the CI's acceptance asks.</summary>
    public static TheoryData<int> KillRounds => new(Enumerable.Range(1, 20));

    [Theory]
    [MemberData(nameof(KillRounds))]
    public async Task Sigkill_right_after_250_leaves_the_message_whole(int round)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["greetingDelay"] = 0, ["disableReverseLookup"] = true });
        byte[] body = Encoding.ASCII.GetBytes($"Subject: round {round}\r\n\r\n" + string.Concat(Enumerable.Repeat(new string((char)('a' + (round % 26)), 998) + "\r\n", 300)));
        string id;
        await using (RawClient client = await ServerStoreTests.ConnectAndGreetAsync(server))
        {
            await ServerStoreTests.StartDataAsync(client);
            await client.SendBytesAsync([.. body, .. ".\r\n"u8]);
            Reply reply = await client.ReadReplyAsync();
            server.Process.Kill();
            Assert.Equal(250, reply.Code);
            id = reply.Line["250 OK: message queued as ".Length..];
        }

        await server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal(id, stored.Id);
        Assert.Equal(body, stored.Body);
        Assert.Equal(body.Length, stored.Envelope.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Sigterm_closes_the_listener_completes_the_message_in_flight_and_exits_0()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["closeTimeout"] = 300, ["greetingDelay"] = 0 });
        RawClient sending = await ServerStoreTests.ConnectAndGreetAsync(server);
        RawClient idle = await ServerStoreTests.ConnectAndGreetAsync(server);
        Assert.Equal(250, (await idle.CommandAsync("EHLO idle.example")).Code);
        await ServerStoreTests.StartDataAsync(sending);
        await sending.SendAsync("Subject: in flight\r\n\r\nfirst half\r\n");

        await server.SignalAsync("TERM");

        // The listener closes at once.
        await ServerProcess.WaitUntilAsync(() => !Accepts(server), "the listener is closed", TimeSpan.FromSeconds(3));

        // After closeTimeout the idle session is told and closed; the message still arriving is not cut off.
        Assert.Matches("^421 .*Server shutting down$", (await idle.ReadReplyAsync(TimeSpan.FromSeconds(5))).Line);
        Assert.True(await idle.IsClosedAsync());
        await idle.DisposeAsync();
        Assert.False(server.Process.HasExited);
        await sending.SendAsync("second half\r\n.\r\n");
        Assert.Equal(250, (await sending.ReadReplyAsync()).Code);
        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.EndsWith("\r\n\r\nfirst half\r\nsecond half\r\n", Encoding.ASCII.GetString(stored.Body));

        // Any further command is refused while the server stops.
        Assert.Matches("^421 .*Server shutting down$", (await sending.CommandAsync("MAIL FROM:<late@example.com>")).Line);
        await sending.DisposeAsync();

        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("Stopped", server.StandardOutput);
        Assert.Equal("", server.StandardError);
    }

    [Fact]
    public async Task Sigint_stops_an_idle_server_with_exit_status_0()
    {
        // A shell starts background jobs with SIGINT ignored and children inherit that; reset it so the test runs the
        // same from a terminal, a CI runner or a background job (coreutils env --default-signal).
        await using ServerProcess server = await ServerProcess.StartAsync(
            wrap: (program, arguments) => ("env", ["--default-signal=INT", program, .. arguments]));
        await server.SignalAsync("INT");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    private static bool Accepts(ServerProcess server)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(server.EndPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
