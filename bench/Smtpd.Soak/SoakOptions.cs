using System.Globalization;

namespace Smtpd.Soak;

/// <summary>The soak's settings (command line of the driver). Every loop is bounded by <see cref="Messages"/> or <see cref="RunLimit"/>.</summary>
internal sealed class SoakOptions
{
    public int Messages { get; private set; } = 2_000_000;

    public int Connections { get; private set; } = 100;

    public int MessagesPerConnection { get; private set; } = 250;

    public int MessageBytes { get; private set; } = 3 * 1024;

    public int SizeLimit { get; private set; } = 1024 * 1024;

    public int Slowloris { get; private set; } = 20;

    public TimeSpan SlowlorisHold { get; private set; } = TimeSpan.FromSeconds(30);

    public TimeSpan SlowlorisInterval { get; private set; } = TimeSpan.FromSeconds(2);

    public int Floods { get; private set; } = 4;

    public int AbortedTls { get; private set; } = 4;

    public int Oversize { get; private set; } = 2;

    public int Vanishing { get; private set; } = 2;

    /// <summary>How long any one wait for the server may take before the session counts as hung.</summary>
    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(30);

    /// <summary>The whole run's bound: past it every session is aborted and the run fails.</summary>
    public TimeSpan RunLimit { get; private set; } = TimeSpan.FromMinutes(30);

    public string? Report { get; private set; }

    public string Results { get; private set; } = Path.Combine("bench", "results", "soak-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));

    public const string Usage = """
        usage: Smtpd.Soak [--messages N] [--connections N] [--messages-per-connection N] [--message-bytes N]
                          [--size-limit N] [--slowloris N] [--slowloris-hold S] [--floods N] [--aborted-tls N]
                          [--oversize N] [--vanishing N] [--timeout S] [--run-limit S] [--results DIR] [--report FILE]
        Starts the soak server (this program, 'serve' mode) as a child process and runs the load against it.
        """;

    public static SoakOptions Parse(string[] args)
    {
        var options = new SoakOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            string value = args[i + 1];
            switch (name)
            {
                case "--messages": options.Messages = Positive(name, value); break;
                case "--connections": options.Connections = Positive(name, value); break;
                case "--messages-per-connection": options.MessagesPerConnection = Positive(name, value); break;
                case "--message-bytes": options.MessageBytes = Positive(name, value); break;
                case "--size-limit": options.SizeLimit = Positive(name, value); break;
                case "--slowloris": options.Slowloris = Count(name, value); break;
                case "--slowloris-hold": options.SlowlorisHold = TimeSpan.FromSeconds(Positive(name, value)); break;
                case "--floods": options.Floods = Count(name, value); break;
                case "--aborted-tls": options.AbortedTls = Count(name, value); break;
                case "--oversize": options.Oversize = Count(name, value); break;
                case "--vanishing": options.Vanishing = Count(name, value); break;
                case "--timeout": options.Timeout = TimeSpan.FromSeconds(Positive(name, value)); break;
                case "--run-limit": options.RunLimit = TimeSpan.FromSeconds(Positive(name, value)); break;
                case "--results": options.Results = value; break;
                case "--report": options.Report = value; break;
                default: throw new ArgumentException($"unknown option '{name}'");
            }
        }

        return options;
    }

    private static int Count(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw new ArgumentException($"{name} needs a count, not '{value}'");

    private static int Positive(string name, string value) =>
        Count(name, value) is > 0 and int n ? n : throw new ArgumentException($"{name} must be above 0");
}
