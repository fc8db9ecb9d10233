using System.Text;

namespace Smtpd.Tests.Chunking;

/// <summary>What the DATA handler of a chunking test server saw: the messages it read to their end, and the failures its reads met.</summary>
internal sealed class MessageCapture
{
    private readonly List<byte[]> _messages = [];
    private readonly List<Exception> _failures = [];

    public IReadOnlyList<byte[]> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    public IReadOnlyList<Exception> Failures
    {
        get
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }

    public List<SmtpEnvelope> Envelopes { get; } = [];

    /// <summary>Completes when the handler has ended (returned or thrown) as many times as given.</summary>
    public async Task WaitForHandlersAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (Messages.Count + Failures.Count < count)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public void Add(byte[] message, SmtpEnvelope envelope)
    {
        lock (_messages)
        {
            _messages.Add(message);
            Envelopes.Add(envelope);
        }
    }

    public void Fail(Exception failure)
    {
        lock (_failures)
        {
            _failures.Add(failure);
        }
    }
}

/// <summary>A server with CHUNKING on whose DATA handler keeps every message; helpers to open a transaction and frame chunks.</summary>
internal static class ChunkingServer
{
    public static Task<TestServer> StartAsync(MessageCapture capture, Action<SmtpServerOptions>? configure = null) =>
        TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.DisabledCommands = ["AUTH"];
            o.OnData = async (stream, session, ct) =>
            {
                using var copy = new MemoryStream();
                try
                {
                    await stream.CopyToAsync(copy, ct);
                }
                catch (Exception ex)
                {
                    capture.Fail(ex);
                    throw;
                }

                capture.Add(copy.ToArray(), session.Envelope);
                return SmtpResult.Accept();
            };
            configure?.Invoke(o);
        });

    /// <summary>Connects, EHLO, MAIL FROM and <paramref name="recipients"/> RCPT TO, each answered 250.</summary>
    public static async Task<RawClient> OpenAsync(TestServer server, int recipients = 1, string mailParameters = "")
    {
        RawClient client = await server.ConnectAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>" + mailParameters)).Code);
        for (int i = 0; i < recipients; i++)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<r{i}@example.org>")).Code);
        }

        return client;
    }

    /// <summary><c>BDAT n[ LAST]</c> and the chunk's bytes, as one buffer.</summary>
    public static byte[] Chunk(byte[] data, bool last = false) =>
        [.. Encoding.ASCII.GetBytes($"BDAT {data.Length}{(last ? " LAST" : "")}\r\n"), .. data];

    public static byte[] Chunk(string data, bool last = false) => Chunk(Encoding.ASCII.GetBytes(data), last);
}
