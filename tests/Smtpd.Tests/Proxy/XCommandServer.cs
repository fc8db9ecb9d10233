namespace Smtpd.Tests.Proxy;

/// <summary>The server of the XCLIENT and XFORWARD tests: the reference's option set, AUTH off, both commands for every peer.</summary>
internal static class XCommandServer
{
    /// <summary>Starts the server with a recorder attached; <paramref name="configure"/> may narrow the trust or change more.</summary>
    public static async Task<(TestServer Server, SessionRecorder Recorder)> StartAsync(Action<SmtpServerOptions>? configure = null)
    {
        var recorder = new SessionRecorder();
        TestServer server = await TestServer.StartAsync(o =>
        {
            recorder.Attach(o);
            o.UseXClient = true;
            o.UseXForward = true;
            configure?.Invoke(o);
        });
        return (server, recorder);
    }
}
