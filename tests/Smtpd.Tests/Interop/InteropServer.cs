using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Interop;

/// <summary>
/// The library's <see cref="SmtpServer"/> on a free loopback port, set up for one matrix cell: the test PKI's
/// <c>mx.test</c>/<c>localhost</c> certificate, STARTTLS offered only in the STARTTLS cells, implicit TLS in the
/// implicit cells, PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256 for one user (optional, so cells without AUTH deliver too). Every message
/// the DATA handler reads is kept whole, with its envelope and session facts; the protocol trace is kept for failures.
/// </summary>
public sealed class InteropServer : IAsyncDisposable
{
    public const string User = "interop-user";
    public const string Password = "s3cret-Pa55";

    private readonly Channel<ReceivedMessage> _messages = Channel.CreateUnbounded<ReceivedMessage>();
    private readonly ListLogger _log = new() { MinimumLevel = LogLevel.Debug };
    private int _connections;

    private InteropServer(InteropTransport transport, bool lmtp)
    {
        Transport = transport;
        Lmtp = lmtp;
    }

    public InteropTransport Transport { get; }

    /// <summary>The server speaks LMTP: one reply per recipient after DATA.</summary>
    public bool Lmtp { get; }

    public TestServer Server { get; private set; } = null!;

    public int Port => Server.Port;

    /// <summary>How many connections the server accepted.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The commands the server received, in order (from its debug trace, <c>C: …</c>).</summary>
    public IReadOnlyList<string> Commands => _log.Entries.Where(e => e.EventId.Id == 13).Select(e => e.Message[(e.Message.IndexOf("C: ", StringComparison.Ordinal) + 3)..]).ToList();

    /// <summary>The server's log, for assertion messages.</summary>
    public string Trace => string.Join("\n", _log.Entries.Select(e => e.Message));

    public static async Task<InteropServer> StartAsync(InteropTransport transport, bool lmtp = false, Action<SmtpServerOptions>? configure = null)
    {
        var server = new InteropServer(transport, lmtp);
        server.Server = await TestServer.StartAsync(o =>
        {
            o.Logger = server._log;
            o.Lmtp = lmtp;
            o.Certificate = TestPki.Shared.Server;
            o.Secure = transport == InteropTransport.ImplicitTls;
            o.HideSTARTTLS = transport == InteropTransport.Plain;
            o.AuthMethods = [SmtpAuthMethods.Plain, SmtpAuthMethods.Login, SmtpAuthMethods.CramMd5, SmtpAuthMethods.ScramSha256];
            o.AuthOptional = true;
            o.AllowInsecureAuth = true;
            o.OnAuth = new SmtpPasswordAuthenticator(new Dictionary<string, string> { [User] = Password }).AuthenticateAsync;
            o.OnConnect = (_, _) =>
            {
                Interlocked.Increment(ref server._connections);
                return ValueTask.FromResult(SmtpResult.Accept());
            };
            o.OnData = server.ReceiveAsync;
            configure?.Invoke(o);
        });
        return server;
    }

    /// <summary>The next message the DATA handler received, within <paramref name="timeout"/> (default 20 s).</summary>
    public async Task<ReceivedMessage> NextMessageAsync(TimeSpan? timeout = null, string? clientOutput = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            return await _messages.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No message arrived.\nclient: {clientOutput}\nserver trace:\n{Trace}");
        }
    }

    /// <summary>True when no further message arrived (every delivery happened exactly once).</summary>
    public bool NoMoreMessages => !_messages.Reader.TryPeek(out _);

    /// <summary>
    /// Waits for the cell's message and checks it: envelope, content byte for byte (<paramref name="expected"/>), TLS
    /// as the cell says, the authenticated user when the cell has AUTH, and that it arrived once.
    /// </summary>
    public async Task<ReceivedMessage> AssertDeliveredAsync(byte[] expected, bool auth, string? clientOutput = null, Func<byte[], byte[]>? content = null)
    {
        ReceivedMessage message = await NextMessageAsync(clientOutput: clientOutput);
        AssertCell(message, auth);
        Assert.Equal(InteropMessage.Sender, message.MailFrom);
        Assert.Equal([InteropMessage.Recipient], message.Recipients);
        Assert.Equal(System.Text.Encoding.ASCII.GetString(expected), System.Text.Encoding.ASCII.GetString((content ?? (c => c))(message.Content)));
        await Task.Delay(100);
        Assert.True(NoMoreMessages, "a message arrived twice");
        return message;
    }

    /// <summary>The client authenticated with <paramref name="mechanism"/> (and no other AUTH command was needed).</summary>
    public void AssertMechanism(string mechanism)
    {
        string[] auth = Commands.Where(c => c.StartsWith("AUTH ", StringComparison.OrdinalIgnoreCase)).ToArray();
        Assert.True(auth.Length == 1 && auth[0].Split(' ')[1].Equals(mechanism, StringComparison.OrdinalIgnoreCase), "AUTH commands: " + string.Join(" | ", auth));
    }

    /// <summary>Checks the session facts of the cell: secure or not, authenticated as <see cref="User"/> or not.</summary>
    public void AssertCell(ReceivedMessage message, bool auth)
    {
        Assert.True(message.Secure == (Transport != InteropTransport.Plain), $"Secure was {message.Secure} in a {Transport} cell");
        Assert.Equal(auth ? User : null, message.User);
        if (Transport == InteropTransport.StartTls)
        {
            Assert.Contains("STARTTLS", Commands);
        }
    }

    private async ValueTask<SmtpResult> ReceiveAsync(SmtpDataStream stream, SmtpSession session, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream();
        await stream.CopyToAsync(content, cancellationToken);
        IReadOnlyList<SmtpAddress> recipients = session.Envelope.RcptTo;
        await _messages.Writer.WriteAsync(new ReceivedMessage(
            session.Id, session.Envelope.MailFrom?.Address ?? "", recipients.Select(r => r.Address).ToList(), content.ToArray(),
            session.Secure, session.User as string, session.TransmissionType), cancellationToken);
        return Lmtp ? SmtpResult.PerRecipient(recipients.Select(_ => SmtpResult.Accept()).ToArray()) : SmtpResult.Accept();
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
