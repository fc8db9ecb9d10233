namespace Smtpd.Tests.Interop;

/// <summary>
/// Matrix row: a private Postfix (Debian) relaying to Smtpd through <c>relayhost</c>, its SMTP client verifying the
/// certificate (<c>secure</c> level) and authenticating with Cyrus SASL. The message arrives with Postfix's
/// <c>Received:</c> field on top and the original bytes after it.
/// </summary>
public sealed class PostfixRelayInteropTests
{
    [Theory]
    [MemberData(nameof(InteropCell.All), MemberType = typeof(InteropCell))]
    public async Task Postfix_relays(InteropTransport transport, bool auth)
    {
        await using InteropServer server = await InteropServer.StartAsync(transport);
        await using PostfixInstance postfix = await PostfixInstance.StartAsync(
            [$"relayhost = [127.0.0.1]:{server.Port}", .. PostfixClientSettings.For("smtp", transport, auth)], PostfixClientSettings.Files);
        byte[] raw = InteropMessage.Create($"postfix relay {transport} auth={auth}");
        ReceivedMessage message = await PostfixSubmission.SubmitAndAssertDeliveredAsync(postfix, server, raw, auth);

        Assert.StartsWith("Received: from client.example", message.Text);
        Assert.Contains("by relay.postfix.test (Postfix)", message.Text);
    }
}
