using System.Net;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Smtpd.Tests.Chunking;

/// <summary>CHUNKING with a real client (MailKit sends with BDAT whenever it is offered) and from a host's configuration.</summary>
public class ChunkingClientTests
{
    private static MimeMessage Message(string subject, byte[] attachment, bool binary = false)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.com"));
        message.To.Add(MailboxAddress.Parse("a@example.org"));
        message.Subject = subject;
        var body = new BodyBuilder { TextBody = "Line one\r\n.starts with a dot\r\n" };
        MimeEntity part = body.Attachments.Add("data.bin", attachment);
        if (binary)
        {
            // Content-Transfer-Encoding: binary: MailKit must send BODY=BINARYMIME with BDAT.
            ((MimePart)part).ContentTransferEncoding = ContentEncoding.Binary;
        }

        message.Body = body.ToMessageBody();
        return message;
    }

    /// <summary>MailKit uses BDAT for messages with binary parts; this client uses it for every message when CHUNKING is offered.</summary>
    private sealed class ChunkingSmtpClient : SmtpClient
    {
        protected override bool PreferSendAsBinaryData => true;
    }

    /// <summary>The verbs of the commands the server logged (debug level), in order.</summary>
    private static List<string> Verbs(ListLogger logger) =>
        logger.Entries.Where(e => e.EventId.Name == "Command").Select(e => e.Message.Split(" C: ", 2)[1].Split(' ')[0].ToUpperInvariant()).ToList();

    [Fact]
    public async Task MailKit_sends_with_BDAT_and_the_handler_gets_the_message_unchanged()
    {
        var logger = new ListLogger { MinimumLevel = LogLevel.Debug };
        var received = new List<byte[]>();
        var bodyTypes = new List<string>();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HideChunking = false;
            o.DisabledCommands = ["AUTH"];
            o.Logger = logger;
            o.OnData = async (stream, session, ct) =>
            {
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, ct);
                lock (received)
                {
                    received.Add(copy.ToArray());
                    bodyTypes.Add(session.Envelope.BodyType);
                }

                return SmtpResult.Accept("queued as " + session.Transaction);
            };
        });
        byte[] attachment = new byte[300_000];
        new Random(7).NextBytes(attachment);
        MimeMessage[] messages = [Message("binary", attachment, binary: true), Message("text", attachment[..1000])];
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Chunking));
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.BinaryMime));
            Assert.Equal("queued as 1", await client.SendAsync(messages[0]));
            await client.DisconnectAsync(true);
        }

        using (var client = new ChunkingSmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
            Assert.Equal("queued as 1", await client.SendAsync(messages[1]));
            await client.DisconnectAsync(true);
        }

        List<string> verbs = Verbs(logger);
        Assert.Equal(2, verbs.Count(v => v == "BDAT"));
        Assert.DoesNotContain("DATA", verbs);
        Assert.Equal(["binarymime", "7bit"], bodyTypes);
        for (int i = 0; i < messages.Length; i++)
        {
            using var expected = new MemoryStream();
            FormatOptions wire = FormatOptions.Default.Clone();
            wire.NewLineFormat = NewLineFormat.Dos;
            await messages[i].WriteToAsync(wire, expected);
            Assert.Equal(expected.ToArray(), received[i]);
        }
    }

    [Fact]
    public async Task MailKit_falls_back_to_DATA_when_chunking_is_off()
    {
        var logger = new ListLogger { MinimumLevel = LogLevel.Debug };
        await using var server = await TestServer.StartAsync(o =>
        {
            o.DisabledCommands = ["AUTH"];
            o.Logger = logger;
        });
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
            Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.Chunking));
            await client.SendAsync(Message("plain", [1, 2, 3]));
            await client.DisconnectAsync(true);
        }

        Assert.Contains("DATA", Verbs(logger));
        Assert.DoesNotContain("BDAT", Verbs(logger));
    }

    [Fact]
    public async Task A_host_reads_hideCHUNKING_hideLIMITS_and_maxTransactions_from_configuration()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Smtp:listen"] = "127.0.0.1:0",
            ["Smtp:greetingDelay"] = "0",
            ["Smtp:disableReverseLookup"] = "true",
            ["Smtp:authOptional"] = "true",
            ["Smtp:hideCHUNKING"] = "false",
            ["Smtp:hideLIMITS"] = "false",
            ["Smtp:maxTransactions"] = "4",
            ["Smtp:maxRecipients"] = "9",
        });
        builder.Services.AddSmtpServer(builder.Configuration.GetSection("Smtp"));
        using IHost host = builder.Build();
        await host.StartAsync();
        SmtpServer server = host.Services.GetRequiredService<SmtpServer>();
        Assert.False(server.Options.HideChunking);
        Assert.Equal(4, server.Options.MaxTransactions);
        await using (RawClient client = await RawClient.ConnectAsync((IPEndPoint)server.EndPoints.Single()))
        {
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
            Reply ehlo = await client.CommandAsync("EHLO x");
            Assert.Contains("250-CHUNKING", ehlo.Lines);
            Assert.Contains("250-BINARYMIME", ehlo.Lines);
            Assert.Equal("250 LIMITS RCPTMAX=9 MAILMAX=4", ehlo.Line);
        }

        await host.StopAsync();
    }
}
