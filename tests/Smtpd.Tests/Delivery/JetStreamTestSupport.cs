using System.Net;
using System.Net.Sockets;
using Smtpd.Tests.Server;

namespace Smtpd.Tests.Delivery;

/// <summary>The consumer sample run as a user's worker would, the admin endpoint, and free ports for the JetStream tests.</summary>
public static class JetStreamTestSupport
{
    /// <summary>The built consumer sample, copied next to the tests by the project reference.</summary>
    public static string ConsumerPath => Path.Combine(AppContext.BaseDirectory, "JetStreamConsumer.dll");

    /// <summary>Runs <c>JetStreamConsumer --url URLS --stream STREAM --out DIR --drain</c>; returns the folder it wrote.</summary>
    public static async Task<string> DrainAsync(string urls, string stream = "MAIL", string? output = null, string[]? options = null, string[]? environment = null)
    {
        output ??= Path.Combine(ServerProcess.NewFolder(), "inbox");
        ProcessResult result = await RunConsumerAsync(["--url", urls, "--stream", stream, "--out", output, "--drain", .. options ?? []], environment);
        Assert.True(result.ExitCode == 0, $"the consumer exited with {result.ExitCode}: {result.Output}");
        return output;
    }

    /// <summary>Runs the consumer sample with <paramref name="arguments"/> and <paramref name="environment"/> (<c>NAME=VALUE</c>) to its end.</summary>
    public static Task<ProcessResult> RunConsumerAsync(string[] arguments, string[]? environment = null) =>
        ExternalProcess.RunAsync("env", [.. environment ?? [], "dotnet", ConsumerPath, .. arguments], timeout: TimeSpan.FromSeconds(120));

    /// <summary>The ids of the pairs in a consumer's output folder (each checked to have both files).</summary>
    public static string[] PairIds(string folder)
    {
        string[] ids = Directory.GetFiles(folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToArray()!;
        Assert.Equal(ids.Length * 2, Directory.GetFiles(folder).Length);
        return ids;
    }

    /// <summary>GET on the admin endpoint: status code and body.</summary>
    public static async Task<(int Status, string Body)> GetAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling; an admin endpoint not answering yet counts as
    /// not yet), failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(50);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
