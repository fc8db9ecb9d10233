using System.Text;
using System.Text.Json;
using Smtpd.Tests.Server;
using static Smtpd.Tests.Chunking.ChunkingServer;

namespace Smtpd.Tests.Chunking;

/// <summary>The ready-to-run server with CHUNKING: <c>hideCHUNKING</c> from each source, BDAT messages stored exactly like DATA ones.</summary>
public class ChunkingServerProgramTests
{
    private static async Task<RawClient> OpenAsync(ServerProcess server, string mailParameters = "")
    {
        RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Reply ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Contains("250-CHUNKING", ehlo.Lines);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.com>" + mailParameters)).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.org>")).Code);
        return client;
    }

    [Fact]
    public async Task A_BDAT_message_is_stored_as_the_same_eml_and_json_pair_with_its_BODY()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["name"] = "mx.test", ["disableReverseLookup"] = true, ["hideCHUNKING"] = false });
        await using (RawClient client = await OpenAsync(server, " BODY=BINARYMIME"))
        {
            await client.SendBytesAsync([.. Chunk("Subject: chunked\r\n\r\n"), .. Chunk("line\r\n.\r\n", last: true)]);
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
            Assert.StartsWith("250 OK: message queued as ", (await client.ReadReplyAsync()).Line);
        }

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal("Subject: chunked\r\n\r\nline\r\n.\r\n", Encoding.ASCII.GetString(stored.Body));
        Assert.Matches($"^Return-Path: <sender@example.com>\r\nReceived: from client.example \\(\\[127.0.0.1\\]\\)\r\n\tby mx.test with ESMTP id {stored.Id};", stored.Trace);
        JsonElement envelope = stored.Envelope;
        Assert.Equal("BINARYMIME", envelope.GetProperty("mailFrom").GetProperty("args").GetProperty("BODY").GetString());
        Assert.Equal("ESMTP", envelope.GetProperty("transmissionType").GetString());
        Assert.Equal(stored.Body.Length, envelope.GetProperty("size").GetInt64());
        Assert.Empty(server.TemporaryFiles());
    }

    [Fact]
    public async Task A_10_MiB_message_of_every_byte_value_in_uneven_chunks_is_stored_byte_exact()
    {
        byte[] message = new byte[10 * 1024 * 1024];
        for (int i = 0; i < message.Length; i++)
        {
            // Every byte value, in an order that is not a plain ramp (so CR, LF and dots meet every neighbour).
            message[i] = (byte)((i * 7) + (i >> 8));
        }

        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["disableReverseLookup"] = true, ["hideCHUNKING"] = false, ["size"] = 0 });
        await using (RawClient client = await OpenAsync(server, " BODY=BINARYMIME"))
        {
            int[] sizes = [1, 4093, 65537, 1_000_003, 17, 0, 3_333_333];
            int offset = 0;
            int chunks = 0;
            for (int i = 0; offset < message.Length; i++)
            {
                int size = Math.Min(sizes[i % sizes.Length], message.Length - offset);
                bool last = offset + size == message.Length;
                byte[] framed = Chunk(message[offset..(offset + size)], last);

                // Each chunk in uneven writes, so chunk boundaries and packet boundaries fall anywhere.
                for (int sent = 0; sent < framed.Length; sent += 300_007)
                {
                    await client.SendBytesAsync(framed[sent..Math.Min(framed.Length, sent + 300_007)]);
                }

                offset += size;
                chunks++;
            }

            for (int i = 0; i < chunks - 1; i++)
            {
                Assert.Equal(250, (await client.ReadReplyAsync()).Code);
            }

            Assert.StartsWith("250 OK: message queued as ", (await client.ReadReplyAsync(TimeSpan.FromSeconds(60))).Line);
        }

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal(256, stored.Body.Distinct().Count());
        Assert.True(message.AsSpan().SequenceEqual(stored.Body), "the stored message differs from the one sent");
        Assert.Equal(message.Length, stored.Envelope.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task A_BDAT_message_over_the_size_limit_leaves_nothing_behind()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(new() { ["disableReverseLookup"] = true, ["hideCHUNKING"] = false, ["size"] = 1000 });
        await using (RawClient client = await OpenAsync(server))
        {
            await client.SendBytesAsync([.. Chunk(new string('a', 600)), .. Chunk(new string('b', 600), last: true)]);
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
            Assert.Equal(552, (await client.ReadReplyAsync()).Code);
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        }

        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(server.Store), e => Path.GetFileName(e) != ".tmp");
        Assert.Empty(server.TemporaryFiles());
    }

    [Theory]
    [InlineData("file")]
    [InlineData("environment")]
    [InlineData("command line")]
    public async Task HideChunking_is_read_from_every_source(string source)
    {
        await using ServerProcess server = source switch
        {
            "file" => await ServerProcess.StartAsync(new() { ["HideChunking"] = false }),
            "environment" => await ServerProcess.StartAsync(environment: new() { ["SMTPD_HIDECHUNKING"] = "false" }),
            _ => await ServerProcess.StartAsync(args: ["--hideCHUNKING", "false"]),
        };
        await using RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Reply ehlo = await client.CommandAsync("EHLO x");
        Assert.Contains("250-CHUNKING", ehlo.Lines);
        Assert.Contains(ehlo.Lines, l => l.EndsWith("BINARYMIME", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CHUNKING_is_off_unless_configured()
    {
        await using ServerProcess server = await ServerProcess.StartAsync();
        await using RawClient client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.DoesNotContain(((await client.CommandAsync("EHLO x")).Lines), l => l.Contains("CHUNKING", StringComparison.Ordinal));
    }
}
