using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MailKit.Net.Smtp;
using MimeKit;

namespace Smtpd.Tests.Server;

/// <summary>The store of the built program: what an accepted message leaves, and that a refused one leaves nothing.</summary>
public class ServerStoreTests
{
    [Fact]
    public async Task Swaks_message_is_stored_as_an_eml_and_json_pair()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["name"] = "mx.test", ["disableReverseLookup"] = true });
        ProcessResult swaks = await ExternalProcess.RunAsync("swaks",
            ["--server", server.EndPoint.ToString(), "--helo", "Client.Example", "--from", "sender@example.com", "--to", "rcpt@example.org",
             "--header", "Subject: from swaks", "--body", "Hello from swaks"], timeout: TimeSpan.FromSeconds(20));
        Assert.True(swaks.ExitCode == 0, swaks.Output);
        Assert.Contains("<-  250 OK: message queued as ", swaks.StandardOutput);

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Matches(@"^\d{8}T\d{6}-[0-9a-v]{16}-1$", stored.Id);
        Assert.Matches(
            $"^Return-Path: <sender@example.com>\r\nReceived: from client.example \\(\\[127.0.0.1\\]\\)\r\n\tby mx.test with ESMTP id {stored.Id};\r\n\t\\w{{3}}, \\d\\d \\w{{3}} \\d{{4}} \\d\\d:\\d\\d:\\d\\d \\+0000\r\n$",
            stored.Trace);
        string body = Encoding.UTF8.GetString(stored.Body);
        Assert.Contains("Subject: from swaks\r\n", body);
        Assert.Contains("\r\n\r\nHello from swaks\r\n", body);

        JsonElement envelope = stored.Envelope;
        Assert.Equal("sender@example.com", envelope.GetProperty("mailFrom").GetProperty("address").GetString());
        Assert.Equal(JsonValueKind.Object, envelope.GetProperty("mailFrom").GetProperty("args").ValueKind);
        Assert.Equal("rcpt@example.org", Assert.Single(envelope.GetProperty("rcptTo").EnumerateArray()).GetProperty("address").GetString());
        Assert.Equal("127.0.0.1", envelope.GetProperty("remoteAddress").GetString());
        Assert.Equal("[127.0.0.1]", envelope.GetProperty("clientHostname").GetString());
        Assert.Equal("client.example", envelope.GetProperty("hostNameAppearsAs").GetString());
        Assert.Equal(JsonValueKind.Null, envelope.GetProperty("user").ValueKind);
        Assert.False(envelope.GetProperty("secure").GetBoolean());
        Assert.Equal("ESMTP", envelope.GetProperty("transmissionType").GetString());
        Assert.Equal(stored.Body.Length, envelope.GetProperty("size").GetInt64());
        Assert.Empty(server.TemporaryFiles());
    }

    [Fact]
    public async Task MailKit_message_is_stored_whole_with_every_recipient()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["disableReverseLookup"] = true });
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@example.com"));
        message.To.Add(MailboxAddress.Parse("bob@example.org"));
        message.Cc.Add(MailboxAddress.Parse("carol@example.net"));
        message.Subject = "Grüße";
        message.Body = new TextPart("plain") { Text = "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.\n" };
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(server.EndPoint.Address.ToString(), server.EndPoint.Port, MailKit.Security.SecureSocketOptions.None);
            string reply = await client.SendAsync(message);
            Assert.StartsWith("OK: message queued as ", reply);
            await client.DisconnectAsync(true);
        }

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        MimeMessage copy = MimeMessage.Load(new MemoryStream(stored.Body));
        Assert.Equal("Grüße", copy.Subject);
        Assert.Equal(message.TextBody, copy.TextBody);
        Assert.Equal(["bob@example.org", "carol@example.net"], stored.Envelope.GetProperty("rcptTo").EnumerateArray().Select(r => r.GetProperty("address").GetString()));
        Assert.Equal(stored.Body.Length, stored.Envelope.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Eml_holds_exactly_the_unstuffed_bytes_and_json_the_parameters()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["disableReverseLookup"] = true, ["hideDSN"] = false, ["bareLineEndings"] = "accept" });
        await using RawClient client = await ConnectAsync(server);
        Assert.Equal(250, (await client.CommandAsync("EHLO raw.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com> BODY=8BITMIME SMTPUTF8 SIZE=300 ENVID=a+2Bb")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<r@example.org> NOTIFY=SUCCESS,FAILURE")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        byte[] latin = [0xC3, 0xA9, 0xFF, 0x00];
        await client.SendBytesAsync([.. "Subject: exact\r\n\r\n..stuffed\r\n.kept\r\nbare\nlf\rcr\r\n"u8, .. latin, .. "\r\n.\r\n"u8]);
        Reply reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal([.. "Subject: exact\r\n\r\n.stuffed\r\n.kept\r\nbare\nlf\rcr\r\n"u8, .. latin, .. "\r\n"u8], stored.Body);
        Assert.Equal("OK: message queued as " + stored.Id, reply.Line[4..]);
        JsonElement mailArgs = stored.Envelope.GetProperty("mailFrom").GetProperty("args");
        Assert.Equal("8BITMIME", mailArgs.GetProperty("BODY").GetString());
        Assert.True(mailArgs.GetProperty("SMTPUTF8").GetBoolean());
        Assert.Equal("300", mailArgs.GetProperty("SIZE").GetString());
        Assert.Equal("a+b", mailArgs.GetProperty("ENVID").GetString());
        Assert.Equal("SUCCESS,FAILURE", stored.Envelope.GetProperty("rcptTo")[0].GetProperty("args").GetProperty("NOTIFY").GetString());
        Assert.Equal(stored.Body.Length, stored.Envelope.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Lmtp_stores_one_pair_and_answers_each_recipient()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["lmtp"] = true, ["disableReverseLookup"] = true });
        await using RawClient client = await ConnectAsync(server);
        Assert.Equal(250, (await client.CommandAsync("LHLO lmtp.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<s@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<a@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: lmtp\r\n\r\nhi\r\n.\r\n");
        Reply first = await client.ReadReplyAsync();
        Reply second = await client.ReadReplyAsync();

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal("250 OK: message accepted as " + stored.Id, first.Line);
        Assert.Equal(first.Line, second.Line);
        Assert.Equal("LMTP", stored.Envelope.GetProperty("transmissionType").GetString());
        Assert.Equal(2, stored.Envelope.GetProperty("rcptTo").GetArrayLength());
        Assert.Contains("with LMTP id ", stored.Trace);
    }

    [Fact]
    public async Task Message_over_size_is_refused_and_leaves_nothing()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["size"] = 1000, ["hideENHANCEDSTATUSCODES"] = false });
        await using RawClient client = await ConnectAsync(server);
        await StartDataAsync(client);
        await client.SendAsync("Subject: big\r\n\r\n" + new string('x', 5000) + "\r\n.\r\n");
        Assert.Equal("552 5.3.4 Error: message exceeds fixed maximum message size 1000", (await client.ReadReplyAsync()).Line);
        Assert.Empty(server.StoreEntries());
        Assert.Empty(server.TemporaryFiles());

        // The session goes on, and a message within the limit is stored.
        await StartDataAsync(client, helo: false);
        await client.SendAsync("Subject: small\r\n\r\nok\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(2, server.StoreEntries().Length);
    }

    [Fact]
    public async Task Connection_broken_mid_data_leaves_nothing()
    {
        await using ServerProcess server = await ServerProcess.StartAsync();
        RawClient client = await ConnectAsync(server);
        await StartDataAsync(client);
        await client.SendAsync("Subject: cut\r\n\r\n" + new string('y', 100_000));

        // The message is being written under its temporary name; then the client vanishes.
        await ServerProcess.WaitUntilAsync(() => server.TemporaryFiles().Length == 1, "the temporary file exists");
        client.Socket.LingerState = new LingerOption(true, 0);
        await client.DisposeAsync();

        await ServerProcess.WaitUntilAsync(() => server.TemporaryFiles().Length == 0, "the temporary file is removed");
        Assert.Empty(server.StoreEntries());
    }

    [Fact]
    public async Task Unwritable_store_answers_451_and_recovers()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["hideENHANCEDSTATUSCODES"] = false });

        // A regular file where the dot-folder should be: nothing can be created in the store (this holds for root too).
        string temporary = Path.Combine(server.Store, ".tmp");
        Directory.Delete(temporary);
        await File.WriteAllTextAsync(temporary, "in the way");
        await using RawClient client = await ConnectAsync(server);
        await StartDataAsync(client);
        await client.SendAsync("Subject: retry\r\n\r\nlater\r\n.\r\n");
        Assert.Equal("451 4.3.0 Error: cannot store the message now, try again later", (await client.ReadReplyAsync()).Line);
        Assert.Empty(server.StoreEntries());
        await ServerProcess.WaitUntilAsync(() => server.StandardOutput.Contains("Cannot store the message, answered 451"), "the store failure in the log");

        File.Delete(temporary);
        await StartDataAsync(client, helo: false);
        await client.SendAsync("Subject: retry\r\n\r\nnow\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(2, server.StoreEntries().Length);
    }

    [Fact]
    public async Task Full_disk_answers_451_leaves_nothing_and_frees_the_space()
    {
        // The store is a 256 KiB tmpfs in a mount namespace of the server's own (util-linux unshare, as root or in a user namespace).
        string folder = ServerProcess.NewFolder();
        string store = Path.Combine(folder, "mail");
        Directory.CreateDirectory(store);
        await using ServerProcess server = await ServerProcess.StartAsync(
            new() { ["hideENHANCEDSTATUSCODES"] = false },
            folder: folder,
            wrap: (program, arguments) => ("unshare",
                ["-rm", "sh", "-c", "mount -t tmpfs -o size=256k tmpfs \"$0\" && exec \"$@\"", store, program, .. arguments]));

        // The test sees the tmpfs through the process's own view of the file system.
        string view = $"/proc/{server.Process.Id}/root{store}";
        await using RawClient client = await ConnectAsync(server);
        await StartDataAsync(client);
        await client.SendAsync("Subject: too big for the disk\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('z', 998) + "\r\n", 400)) + ".\r\n");
        Assert.Equal("451 4.3.0 Error: cannot store the message now, try again later", (await client.ReadReplyAsync()).Line);
        Assert.Empty(server.StoreEntries(view));
        Assert.Empty(server.TemporaryFiles(view));

        await StartDataAsync(client, helo: false);
        await client.SendAsync("Subject: fits\r\n\r\n" + new string('z', 100_000) + "\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(2, server.StoreEntries(view).Length);
    }

    [Fact]
    public async Task Stale_temporary_files_are_removed_at_start()
    {
        string folder = ServerProcess.NewFolder();
        string temporary = Path.Combine(folder, "mail", ".tmp");
        Directory.CreateDirectory(temporary);
        string stale = Path.Combine(temporary, "crashed.eml");
        string recent = Path.Combine(temporary, "in-flight.eml");
        await File.WriteAllTextAsync(stale, "left by a crash");
        await File.WriteAllTextAsync(recent, "another instance is writing it");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));

        await using ServerProcess server = await ServerProcess.StartAsync(folder: folder);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent));
    }

    [Fact]
    public async Task A_temporary_folder_removed_while_running_is_made_again()
    {
        await using ServerProcess server = await ServerProcess.StartAsync();
        Directory.Delete(Path.Combine(server.Store, ".tmp"));
        await using RawClient client = await ConnectAsync(server);
        await StartDataAsync(client);
        await client.SendAsync("Subject: after the folder went\r\n\r\nstill stored\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(2, server.StoreEntries().Length);
    }

    private static Task<RawClient> ConnectAsync(ServerProcess server) => ConnectAndGreetAsync(server);

    internal static async Task<RawClient> ConnectAndGreetAsync(ServerProcess server)
    {
        RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        return client;
    }

    internal static async Task StartDataAsync(RawClient client, bool helo = true)
    {
        if (helo)
        {
            Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        }

        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
    }
}
