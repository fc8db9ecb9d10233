using System.Text.Json;
using Smtpd.Tests.Server;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Interop;

/// <summary>
/// Matrix row: the ready-to-run server (<c>Smtpd.Server</c>, a process of its own with a config file: the test
/// certificate as PEM files, one user, <c>secure</c> for implicit TLS, <c>hideSTARTTLS</c> for the plain cells)
/// driven by swaks; the stored <c>.eml</c> holds the message byte for byte after its trace fields, and the
/// <c>.json</c> its envelope, TLS and user.
/// </summary>
public sealed class ServerProgramInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Server_program_stores_what_swaks_sends(InteropTransport transport, bool auth)
    {
        using var folder = new InteropFolder();
        TestPki.WriteFiles(folder.FullName, ("server", TestPki.Shared.Server));
        await using ServerProcess server = await ServerProcess.StartAsync(new()
        {
            ["name"] = "mx.test",
            ["cert"] = folder.Path("server.crt"),
            ["key"] = folder.Path("server.key"),
            ["secure"] = transport == InteropTransport.ImplicitTls,
            ["hideSTARTTLS"] = transport == InteropTransport.Plain,
            ["users"] = new Dictionary<string, string> { [InteropServer.User] = InteropServer.Password },
            ["authOptional"] = true,
            ["allowInsecureAuth"] = true,
            ["disableReverseLookup"] = true,
        });
        byte[] raw = InteropMessage.Create($"server program {transport} auth={auth}");

        ProcessResult result = await SwaksInteropTests.RunAsync(server.EndPoint.Port, transport, auth, folder, raw);
        Assert.True(result.ExitCode == 0, result.Output + "\n" + server.StandardOutput + server.StandardError);

        StoredMessage stored = StoredMessage.ReadSingle(server.Store);
        Assert.Equal(System.Text.Encoding.ASCII.GetString(raw), System.Text.Encoding.ASCII.GetString(stored.Body));
        JsonElement envelope = stored.Envelope;
        Assert.Equal(InteropMessage.Sender, envelope.GetProperty("mailFrom").GetProperty("address").GetString());
        Assert.Equal(InteropMessage.Recipient, envelope.GetProperty("rcptTo")[0].GetProperty("address").GetString());
        Assert.Equal(transport != InteropTransport.Plain, envelope.GetProperty("secure").GetBoolean());
        Assert.Equal(auth ? InteropServer.User : null, envelope.GetProperty("user").GetString());
        Assert.Equal(raw.Length, envelope.GetProperty("size").GetInt64());
    }
}
