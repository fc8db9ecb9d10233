using System.Globalization;

namespace Smtpd.LoadGen;

/// <summary>How the generator drives the server.</summary>
internal enum LoadMode
{
    /// <summary>N connections, each reused for many transactions.</summary>
    Reuse,

    /// <summary>A new connection (connect, greeting, EHLO, one transaction, QUIT) per message, N at a time.</summary>
    PerMessage,

    /// <summary>Open C connections, EHLO on each, then hold them idle.</summary>
    Idle,
}

/// <summary>The command line of the load generator.</summary>
internal sealed class LoadGenOptions
{
    public const string Usage = """
        Smtpd.LoadGen: an SMTP load generator for loopback benchmarks. Prints one JSON object on stdout and a
        summary line on stderr.

          --port N                  server port (required)
          --host ADDR               server address (default 127.0.0.1; loopback only)
          --connections N           concurrent connections (default 1)
          --messages N              messages in total, shared by all connections (default 1000)
          --messages-per-connection K
                                    K messages on every connection instead of a shared total
          --size BYTES              message size in bytes, headers included (default 1024, at least 64)
          --recipients N            RCPT TO commands per transaction (default 1)
          --pipelining              send MAIL, RCPT and DATA as one group (RFC 2920)
          --bdat                    send the message with BDAT (RFC 3030 CHUNKING) instead of DATA: one
                                    BDAT n LAST, or chunks of --chunk-size bytes and the last with LAST
          --chunk-size BYTES        with --bdat: the size of each chunk (default: the whole message)
          --starttls                upgrade every connection with STARTTLS (any certificate is accepted)
          --per-message             a new connection per message (N at a time)
          --idle C                  open C connections, EHLO on each, hold them, then close
          --hold SECONDS            idle mode: how long to hold the connections (default 2)
          --settle SECONDS          idle mode: pause before sampling the server's memory (default 1)
          --idle-parallelism N      idle mode: connections being set up at once (default 50)
          --server-pid PID          sample the server's VmRSS/VmHWM from /proc (idle mode: RSS per connection)
          --timeout SECONDS         limit for each connect, read and write (default 30)
          --deadline SECONDS        limit for the whole run (default 900)
          --duration SECONDS        start no new message SECONDS after the messaging phase began (--messages is
                                    then a maximum): a warm-up of a fixed time, whatever the server's speed
          --max-errors N            stop after N errors (default 100)
          --thread-pool-completions run socket continuations on the thread pool instead of inline on the
                                    socket event thread (inline is the default: fewer thread hops, less CPU)
          --label TEXT              copied into the JSON output
        """;

    public string Host { get; private set; } = "127.0.0.1";

    public int Port { get; private set; }

    public int Connections { get; private set; } = 1;

    public long Messages { get; private set; } = 1000;

    public int MessagesPerConnection { get; private set; }

    public int Size { get; private set; } = 1024;

    public int Recipients { get; private set; } = 1;

    public bool Pipelining { get; private set; }

    /// <summary>Send the message with BDAT chunks instead of DATA.</summary>
    public bool Bdat { get; private set; }

    /// <summary>With <see cref="Bdat"/>: bytes per chunk (0: the whole message in one chunk).</summary>
    public int ChunkSize { get; private set; }

    public bool StartTls { get; private set; }

    public LoadMode Mode { get; private set; } = LoadMode.Reuse;

    public int IdleConnections { get; private set; }

    public TimeSpan Hold { get; private set; } = TimeSpan.FromSeconds(2);

    public TimeSpan Settle { get; private set; } = TimeSpan.FromSeconds(1);

    public int IdleParallelism { get; private set; } = 50;

    public int ServerPid { get; private set; }

    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(30);

    public TimeSpan Deadline { get; private set; } = TimeSpan.FromSeconds(900);

    /// <summary>No new message is started after this long (zero: no such limit).</summary>
    public TimeSpan Duration { get; private set; }

    public int MaxErrors { get; private set; } = 100;

    public string Label { get; private set; } = "";

    /// <summary>Run socket continuations inline on the event thread (the default) rather than on the thread pool.</summary>
    public bool InlineCompletions { get; private set; } = true;

    /// <summary>The number of transactions the run attempts.</summary>
    public long TotalMessages => MessagesPerConnection > 0 ? (long)MessagesPerConnection * Connections : Messages;

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static LoadGenOptions Parse(string[] args)
    {
        var o = new LoadGenOptions();
        bool perMessage = false;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            switch (name)
            {
                case "--host":
                    o.Host = Value(args, ref i);
                    break;
                case "--port":
                    o.Port = Int(args, ref i, 1, 65535);
                    break;
                case "--connections":
                    o.Connections = Int(args, ref i, 1, 100_000);
                    break;
                case "--messages":
                    o.Messages = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--messages-per-connection":
                    o.MessagesPerConnection = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--size":
                    o.Size = Int(args, ref i, 64, 1 << 30);
                    break;
                case "--recipients":
                    o.Recipients = Int(args, ref i, 1, 1000);
                    break;
                case "--pipelining":
                    o.Pipelining = true;
                    break;
                case "--bdat":
                    o.Bdat = true;
                    break;
                case "--chunk-size":
                    o.ChunkSize = Int(args, ref i, 1, 1 << 30);
                    break;
                case "--starttls":
                    o.StartTls = true;
                    break;
                case "--per-message":
                    perMessage = true;
                    break;
                case "--idle":
                    o.IdleConnections = Int(args, ref i, 1, 1_000_000);
                    break;
                case "--hold":
                    o.Hold = Seconds(args, ref i);
                    break;
                case "--settle":
                    o.Settle = Seconds(args, ref i);
                    break;
                case "--idle-parallelism":
                    o.IdleParallelism = Int(args, ref i, 1, 10_000);
                    break;
                case "--server-pid":
                    o.ServerPid = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--timeout":
                    o.Timeout = Seconds(args, ref i);
                    break;
                case "--deadline":
                    o.Deadline = Seconds(args, ref i);
                    break;
                case "--duration":
                    o.Duration = Seconds(args, ref i);
                    break;
                case "--max-errors":
                    o.MaxErrors = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--thread-pool-completions":
                    o.InlineCompletions = false;
                    break;
                case "--label":
                    o.Label = Value(args, ref i);
                    break;
                default:
                    throw new ArgumentException($"unknown option '{name}'");
            }
        }

        if (o.Port == 0)
        {
            throw new ArgumentException("--port is required");
        }

        if (perMessage && o.IdleConnections > 0)
        {
            throw new ArgumentException("--per-message and --idle exclude each other");
        }

        if (o.ChunkSize > 0 && !o.Bdat)
        {
            throw new ArgumentException("--chunk-size goes with --bdat");
        }

        o.Mode = o.IdleConnections > 0 ? LoadMode.Idle : perMessage ? LoadMode.PerMessage : LoadMode.Reuse;
        if (o.Timeout <= TimeSpan.Zero || o.Deadline <= TimeSpan.Zero)
        {
            throw new ArgumentException("--timeout and --deadline must be positive");
        }

        return o;
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new ArgumentException($"{args[i]} needs a value");
        }

        return args[++i];
    }

    private static int Int(string[] args, ref int i, int min, int max)
    {
        string name = args[i];
        string text = Value(args, ref i);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new ArgumentException($"{name} needs a whole number from {min} to {max}, not '{text}'");
        }

        return value;
    }

    private static TimeSpan Seconds(string[] args, ref int i)
    {
        string name = args[i];
        string text = Value(args, ref i);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0 || value > 86_400)
        {
            throw new ArgumentException($"{name} needs a number of seconds, not '{text}'");
        }

        return TimeSpan.FromSeconds(value);
    }
}
