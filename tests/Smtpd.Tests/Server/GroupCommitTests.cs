using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Smtpd.Server;
using Smtpd.Server.Delivery;

namespace Smtpd.Tests.Server;

/// <summary>
/// The folder store's group commit: messages finishing together share one flush of their data and one of the store
/// folder, and no message gets its 250 before the flushes that cover it. The flushes go through a <see cref="StoreSync"/>
/// that records them and holds each batch before its data flush, and again before its folder flush, until the test
/// lets it go.
/// </summary>
public class GroupCommitTests
{
    [Fact]
    public async Task Concurrent_messages_share_one_flush_and_none_is_acknowledged_before_its_flush()
    {
        string root = Path.Combine(ServerProcess.NewFolder(), "mail");
        var sync = new HeldSync();
        var store = new FolderStore(root, sync);
        await store.PrepareAsync(CancellationToken.None);
        SmtpServerOptions options = TestServer.Defaults(o => o.DisabledCommands.Add("AUTH"));
        await using TestServer server = await TestServer.StartAsync(
            new StoreSmtpServer(options, store, new RecipientPolicy([], "recipients"), NullLogger<StoreSmtpServer>.Instance));

        // A first message: its batch is held inside the data flush.
        await using RawClient first = await SendMessageAsync(server, "first");
        Task<Reply> firstReply = first.ReadReplyAsync(TimeSpan.FromSeconds(30));
        string firstId = Assert.Single(await sync.NextBatchAsync());

        // Three more finish while it is held: they wait for the next batch, all three in it.
        var others = new List<RawClient>();
        foreach (string name in new[] { "second", "third", "fourth" })
        {
            others.Add(await SendMessageAsync(server, name));
        }

        await ServerProcess.WaitUntilAsync(() => Directory.GetFiles(store.TemporaryFolder, "*.json").Length == 4, "every message is written", TimeSpan.FromSeconds(10));
        List<Task<Reply>> otherReplies = others.Select(client => client.ReadReplyAsync(TimeSpan.FromSeconds(30))).ToList();
        await Task.Delay(300);
        Assert.False(firstReply.IsCompleted, "a 250 was sent before the data flush of its message");
        Assert.DoesNotContain(otherReplies, reply => reply.IsCompleted);
        Assert.Empty(Directory.GetFiles(root));

        // Its data flushed and its files renamed, the first message still waits for the flush of the store folder.
        sync.Release();
        await sync.FolderFlushAsync();
        Assert.Equal(2, Directory.GetFiles(root).Length);
        await Task.Delay(300);
        Assert.False(firstReply.IsCompleted, "a 250 was sent before the flush of the store folder holding its message");

        // Released, the first batch completes; the next batch holds the three others, and they get no reply yet.
        sync.ReleaseFolder();
        Assert.Equal(firstId, AssertQueuedAndDurable(await firstReply, sync, root));
        string[] batch = await sync.NextBatchAsync();
        Assert.Equal(3, batch.Length);
        await Task.Delay(300);
        Assert.DoesNotContain(otherReplies, reply => reply.IsCompleted);

        sync.Release();
        await sync.FolderFlushAsync();
        Assert.Equal(8, Directory.GetFiles(root).Length);
        await Task.Delay(300);
        Assert.DoesNotContain(otherReplies, reply => reply.IsCompleted);

        sync.ReleaseFolder();
        var otherIds = new List<string>();
        foreach (Task<Reply> reply in otherReplies)
        {
            otherIds.Add(AssertQueuedAndDurable(await reply, sync, root));
        }

        Assert.Equal(batch.Order(StringComparer.Ordinal), otherIds.Order(StringComparer.Ordinal));

        Assert.Equal(2, sync.DataFlushes);
        Assert.Equal(2, sync.DirectoryFlushes);
        Assert.Equal(8, Directory.GetFiles(root).Length);
        foreach (RawClient client in others)
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>The reply is a 250 naming a message whose flushes had completed when the client read it, and whose pair is in the store.</summary>
    private static string AssertQueuedAndDurable(Reply reply, HeldSync sync, string root)
    {
        Assert.Equal(250, reply.Code);
        string id = reply.Line["250 OK: message queued as ".Length..];
        Assert.True(sync.IsDurable(id), $"250 for {id} before the flush of the store folder covering it");
        Assert.True(File.Exists(Path.Combine(root, id + ".eml")));
        Assert.True(File.Exists(Path.Combine(root, id + ".json")));
        return id;
    }

    /// <summary>Sends a whole message whose subject is <paramref name="name"/>, without reading the reply to its end of data.</summary>
    private static async Task<RawClient> SendMessageAsync(TestServer server, string name)
    {
        RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO " + name + ".example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<" + name + "@example.com>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<rcpt@example.org>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: " + name + "\r\n\r\n" + new string('x', 4000) + "\r\n.\r\n");
        return client;
    }

    /// <summary>
    /// Flushes for real, but records each batch (its message ids), holds it before its data flush until
    /// <see cref="Release"/> and before its store folder flush until <see cref="ReleaseFolder"/>; message ids count as
    /// durable once the store folder flush after their renames has returned.
    /// </summary>
    private sealed class HeldSync : StoreSync
    {
        private readonly ConcurrentQueue<string[]> _batches = new();
        private readonly SemaphoreSlim _entered = new(0);
        private readonly SemaphoreSlim _release = new(0);
        private readonly SemaphoreSlim _folderEntered = new(0);
        private readonly SemaphoreSlim _folderRelease = new(0);
        private readonly ConcurrentDictionary<string, bool> _durable = new();
        private string[] _current = [];
        private int _dataFlushes;
        private int _directoryFlushes;

        public int DataFlushes => _dataFlushes;

        public int DirectoryFlushes => _directoryFlushes;

        public bool IsDurable(string id) => _durable.ContainsKey(id);

        public void Release() => _release.Release();

        public void ReleaseFolder() => _folderRelease.Release();

        /// <summary>Waits until the committer holds the current batch before its store folder flush.</summary>
        public async Task FolderFlushAsync() =>
            Assert.True(await _folderEntered.WaitAsync(TimeSpan.FromSeconds(10)), "no batch reached the store folder flush");

        /// <summary>Waits until the committer holds the next batch; returns its message ids.</summary>
        public async Task<string[]> NextBatchAsync()
        {
            Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)), "no batch reached the data flush");
            Assert.True(_batches.TryDequeue(out string[]? ids));
            return ids;
        }

        public override void FlushFiles(IReadOnlyList<PendingMessage> batch, string root)
        {
            _current = batch.Select(m => m.Id).ToArray();
            _batches.Enqueue(_current);
            _entered.Release();
            Assert.True(_release.Wait(TimeSpan.FromSeconds(30)), "the test never released the batch");
            base.FlushFiles(batch, root);
            Interlocked.Increment(ref _dataFlushes);
        }

        public override void FlushDirectory(string root)
        {
            _folderEntered.Release();
            Assert.True(_folderRelease.Wait(TimeSpan.FromSeconds(30)), "the test never released the store folder flush");
            base.FlushDirectory(root);
            Interlocked.Increment(ref _directoryFlushes);
            foreach (string id in _current)
            {
                _durable[id] = true;
            }
        }
    }
}
