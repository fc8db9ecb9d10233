using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// The protocol core of one connection: takes a command line, applies the reference's order of checks, runs the
/// command's unit from <see cref="CommandTable"/>, which writes its replies to <see cref="Replies"/>, and tells the
/// command loop what comes next (<see cref="Outcome"/>). It holds the state that lives as long as the session (the
/// session, its transaction, the counters, the AUTH exchange, the proxy trust) and never reads the network itself,
/// except the message body after DATA; so it can be driven line by line without sockets.
/// </summary>
internal sealed class SmtpProtocol
{
    /// <summary>The trust decided from the client's address after the PROXY header (XCLIENT, XFORWARD).</summary>
    public ForwardingTrust Trust;

    /// <summary>The AUTH state, made at the first AUTH command.</summary>
    public AuthExchange? Auth;

    /// <summary>Unrecognized commands so far (reset after each message).</summary>
    public int UnrecognizedCount;

    /// <summary>Commands sent while authentication is required and missing.</summary>
    public int UnauthenticatedCount;

    /// <summary>MAIL commands so far (for <see cref="SmtpServerOptions.MaxTransactions"/>).</summary>
    public int MailCommands;

    /// <summary>The chunk of the last BDAT command, read by <see cref="ReceiveChunkAsync"/>.</summary>
    public BdatChunk PendingChunk;

    public SmtpProtocol(EndpointContext endpoint, SmtpSession session, ConnectionTransport transport, SmtpSessionHandler handler, ILogger logger, bool ignored, ForwardingTrust trust)
    {
        Endpoint = endpoint;
        Session = session;
        Transport = transport;
        Logger = logger;
        IsIgnored = ignored;
        Trust = trust;
        Replies = new ReplyChannel(transport, session, endpoint.Replies, logger);
        Handlers = new HandlerInvoker(handler, session, transport, logger);
    }

    public EndpointContext Endpoint { get; }

    public ServerContext Server => Endpoint.Server;

    /// <summary>The effective options of the endpoint.</summary>
    public SmtpServerOptions Options => Endpoint.Options;

    public SmtpSession Session { get; }

    public ConnectionTransport Transport { get; }

    public ReplyChannel Replies { get; }

    public HandlerInvoker Handlers { get; }

    /// <summary>The connection's logger (silent for <see cref="SmtpServerOptions.IgnoredHosts"/>).</summary>
    public ILogger Logger { get; }

    /// <summary>The client is one of <see cref="SmtpServerOptions.IgnoredHosts"/>: nothing is logged and no connection handler runs.</summary>
    public bool IsIgnored { get; }

    public MailTransaction Transaction => Session.MailTransaction;

    /// <summary>The command of the last line (for the command-duration metric).</summary>
    public SmtpCommand LastCommand { get; private set; }

    /// <summary>AUTH is offered on this connection: mechanisms configured and the command not disabled.</summary>
    public bool IsAuthEnabled => Endpoint.Capabilities.HasAuthMechanisms && !IsDisabled(SmtpCommand.Auth);

    /// <summary>AUTH is enabled, not optional, and the client has not authenticated.</summary>
    public bool IsAuthRequired => Session.User is null && !Options.AuthOptional && IsAuthEnabled;

    /// <summary>CHUNKING and BINARYMIME are advertised and BDAT works (<see cref="SmtpServerOptions.HideChunking"/> off, BDAT not disabled).</summary>
    public bool IsChunkingEnabled => Endpoint.Capabilities.OffersChunking && !IsDisabled(SmtpCommand.Bdat);

    /// <summary>STARTTLS can work on this connection (the server has TLS material and the command is not disabled).</summary>
    public bool IsStartTlsUsable => Server.Tls is not null && !IsDisabled(SmtpCommand.StartTls);

    /// <summary>Runs one command line; the line's bytes are only read before the first await.</summary>
    public ValueTask<Outcome> ExecuteAsync(ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
        {
            return Execute(line.FirstSpan);
        }

        int length = (int)line.Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            line.CopyTo(rented);
            return Execute(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The dispatcher: the reference's order of checks (§5), then the command's unit.</summary>
    public ValueTask<Outcome> Execute(ReadOnlySpan<byte> line)
    {
        if (Logger.IsEnabled(LogLevel.Debug))
        {
            LogCommand(line);
        }

        if (Auth?.IsWaitingForClient == true)
        {
            return AuthCommand.Continue(this, line);
        }

        SmtpCommand command = CommandParser.Identify(line, out int verbLength);
        LastCommand = command;
        if (Server.IsClosing && !(command == SmtpCommand.Bdat && Session.CurrentTransaction?.Chunks is not null))
        {
            // A BDAT message already under way may finish, as a DATA message being received does.
            return Final(IsGreeting(command) ? Endpoint.Replies.ShuttingDownPlain : Endpoint.Replies.ShuttingDown);
        }

        switch (command)
        {
            case SmtpCommand.Helo or SmtpCommand.Ehlo:
                Session.OpeningCommand = command == SmtpCommand.Helo ? "HELO" : "EHLO";
                if (Options.Lmtp)
                {
                    return Reply(command == SmtpCommand.Helo ? Endpoint.Replies.HeloNotAllowed : Endpoint.Replies.EhloNotAllowed);
                }

                break;
            case SmtpCommand.Lhlo:
                Session.OpeningCommand = "LHLO";
                if (!Options.Lmtp)
                {
                    command = SmtpCommand.Unknown;
                }

                break;
            case SmtpCommand.Bdat when !Endpoint.Capabilities.OffersChunking:
                // As the reference: an unknown command (its chunk then reads as commands).
                command = SmtpCommand.Unknown;
                break;
        }

        if (command == SmtpCommand.Unknown || IsDisabled(command))
        {
            return Unrecognized(line, verbLength, command);
        }

        if (IsAuthRequired && command != SmtpCommand.Auth && Options.MaxAllowedUnauthenticatedCommands > 0
            && ++UnauthenticatedCount >= Options.MaxAllowedUnauthenticatedCommands)
        {
            SmtpLog.ClientMisbehaved(Logger, Session.Id, "too many unauthenticated commands");
            return Final(IsGreeting(command) ? Endpoint.Replies.TooManyUnauthenticatedPlain : Endpoint.Replies.TooManyUnauthenticated);
        }

        ref readonly CommandSpec spec = ref CommandTable.For(command);
        if (spec.RefusedDuringBdat && Session.CurrentTransaction?.Chunks is not null)
        {
            return Reply(503, "5.5.1", $"Error: {CommandParser.Names[(int)command]} not allowed during a BDAT transaction");
        }

        if (spec.NeedsGreeting && Session.HostNameAppearsAs is null)
        {
            return Reply(Endpoint.Replies.SendHeloFirst);
        }

        if (spec.NeedsAuthentication && IsAuthRequired)
        {
            return Reply(530, "5.7.0", Options.AuthRequiredMessage);
        }

        return spec.Handler!(this, new CommandLine(line, verbLength, command));
    }

    /// <summary>After <see cref="Outcome.ReceiveMessage"/>: the message into the DATA handler, then its replies.</summary>
    public ValueTask<Outcome> ReceiveMessageAsync() => DataCommand.ReceiveAsync(this);

    /// <summary>After <see cref="Outcome.ReceiveChunk"/>: the chunk of <see cref="PendingChunk"/> into the DATA handler (or skipped), then its reply.</summary>
    public ValueTask<Outcome> ReceiveChunkAsync() => BdatCommand.ReceiveAsync(this);

    /// <summary>
    /// The one transaction reset (RSET, the end of a message, HELO/EHLO/LHLO, STARTTLS, XCLIENT, XFORWARD): see
    /// <see cref="MailTransaction.Reset"/>.
    /// </summary>
    public void ResetTransaction(bool messageEnded = false)
    {
        if (Session.CurrentTransaction is { } transaction)
        {
            if (transaction.Chunks is not null)
            {
                // A BDAT message ends without its last chunk: the reader's message buffer goes back.
                Transport.Reader.ReadSize = ConnectionReader.CommandReadSize;
            }

            transaction.Reset(messageEnded);
        }
    }

    /// <summary>Is <paramref name="command"/> off for this connection (the session's own list replaces the endpoint's)?</summary>
    public bool IsDisabled(SmtpCommand command)
    {
        IReadOnlyCollection<string>? own = Session.DisabledCommands;
        if (own is null)
        {
            return Endpoint.DisabledCommands[(int)command];
        }

        string name = CommandParser.Names[(int)command];
        foreach (string entry in own)
        {
            if (string.Equals(entry?.Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes a pre-encoded reply; the session goes on.</summary>
    public ValueTask<Outcome> Reply(byte[] reply)
    {
        Replies.Write(reply);
        return new(Outcome.Continue);
    }

    /// <summary>Writes a reply (with <paramref name="enhanced"/> when enhanced codes are on); the session goes on.</summary>
    public ValueTask<Outcome> Reply(int code, string enhanced, string text)
    {
        Replies.Write(code, enhanced, text);
        return new(Outcome.Continue);
    }

    /// <summary>Writes a reply after which the connection closes (QUIT's 221, any 421).</summary>
    public ValueTask<Outcome> Final(byte[] reply)
    {
        Replies.Write(reply);
        return new(Outcome.Close);
    }

    /// <summary>HELO, EHLO and LHLO: their refusals never carry an enhanced code.</summary>
    public static bool IsGreeting(SmtpCommand command) => command is SmtpCommand.Helo or SmtpCommand.Ehlo or SmtpCommand.Lhlo;

    private ValueTask<Outcome> Unrecognized(ReadOnlySpan<byte> line, int verbLength, SmtpCommand command)
    {
        if (command == SmtpCommand.Unknown && CommandParser.IsHttpRequest(line, verbLength))
        {
            SmtpLog.ClientMisbehaved(Logger, Session.Id, "HTTP request refused");
            return Final(Endpoint.Replies.HttpRefused);
        }

        bool plain = IsGreeting(command);
        if (Options.MaxUnrecognizedCommands > 0 && ++UnrecognizedCount >= Options.MaxUnrecognizedCommands)
        {
            SmtpLog.ClientMisbehaved(Logger, Session.Id, "too many unrecognized commands");
            return Final(plain ? Endpoint.Replies.TooManyUnrecognizedPlain : Endpoint.Replies.TooManyUnrecognized);
        }

        return Reply(plain ? Endpoint.Replies.UnrecognizedPlain : Endpoint.Replies.Unrecognized);
    }

    /// <summary>The line as logged: AUTH payloads and continuation lines are never written.</summary>
    private void LogCommand(ReadOnlySpan<byte> line)
    {
        string text;
        if (Auth?.IsWaitingForClient == true)
        {
            text = "/* secured */";
        }
        else
        {
            SmtpCommand command = CommandParser.Identify(line, out int verbLength);
            text = command == SmtpCommand.Auth ? AuthCommand.Redact(line, verbLength) : Encoding.UTF8.GetString(line);
        }

        SmtpLog.Command(Logger, Session.Id, text);
    }
}
