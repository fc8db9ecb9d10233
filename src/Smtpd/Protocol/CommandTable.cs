namespace Smtpd;

/// <summary>A command unit: runs one command line after the dispatcher's checks, writes its replies, says what comes next.</summary>
internal delegate ValueTask<Outcome> CommandHandler(SmtpProtocol protocol, CommandLine command);

/// <summary>One entry of <see cref="CommandTable"/>.</summary>
/// <param name="Handler">The unit that runs the command.</param>
/// <param name="NeedsGreeting">Refused with <c>503 send HELO/EHLO first</c> before a greeting.</param>
/// <param name="NeedsAuthentication">Refused with <c>530</c> while authentication is required and missing.</param>
/// <param name="RefusedDuringBdat">
/// Refused with <c>503</c> while a BDAT transaction is open (after a chunk without <c>LAST</c>): the commands that would
/// change its envelope, mix DATA into it, or call a handler while its DATA handler runs.
/// </param>
internal readonly record struct CommandSpec(CommandHandler? Handler, bool NeedsGreeting = false, bool NeedsAuthentication = false, bool RefusedDuringBdat = false);

/// <summary>
/// Which unit runs each command and what it needs first, indexed by <see cref="SmtpCommand"/>. A new command (BDAT,
/// for one) is a value in <see cref="SmtpCommand"/>, its verb in <see cref="CommandParser"/>, a unit and a line here.
/// </summary>
internal static class CommandTable
{
    private static readonly CommandSpec[] Specs = Build();

    /// <summary>The entry of <paramref name="command"/> (no handler for <see cref="SmtpCommand.Unknown"/>).</summary>
    public static ref readonly CommandSpec For(SmtpCommand command) => ref Specs[(int)command];

    private static CommandSpec[] Build()
    {
        var specs = new CommandSpec[CommandParser.Names.Length];
        specs[(int)SmtpCommand.Helo] = new(GreetingCommand.Execute);
        specs[(int)SmtpCommand.Ehlo] = new(GreetingCommand.Execute);
        specs[(int)SmtpCommand.Lhlo] = new(GreetingCommand.Execute);
        specs[(int)SmtpCommand.Mail] = new(MailCommand.Execute, NeedsGreeting: true, NeedsAuthentication: true, RefusedDuringBdat: true);
        specs[(int)SmtpCommand.Rcpt] = new(RcptCommand.Execute, NeedsGreeting: true, NeedsAuthentication: true, RefusedDuringBdat: true);
        specs[(int)SmtpCommand.Data] = new(DataCommand.Execute, NeedsGreeting: true, NeedsAuthentication: true, RefusedDuringBdat: true);

        // BDAT checks the greeting and authentication itself: its refusals still consume the chunk, to stay in sync.
        specs[(int)SmtpCommand.Bdat] = new(BdatCommand.Execute);
        specs[(int)SmtpCommand.Rset] = new(BasicCommands.Rset);
        specs[(int)SmtpCommand.Noop] = new(BasicCommands.Noop);
        specs[(int)SmtpCommand.Quit] = new(BasicCommands.Quit);
        specs[(int)SmtpCommand.Vrfy] = new(BasicCommands.Vrfy);
        specs[(int)SmtpCommand.Help] = new(BasicCommands.Help);
        specs[(int)SmtpCommand.StartTls] = new(StartTlsCommand.Execute, RefusedDuringBdat: true);
        specs[(int)SmtpCommand.Auth] = new(AuthCommand.Execute, NeedsGreeting: true, RefusedDuringBdat: true);
        specs[(int)SmtpCommand.XClient] = new(XClientCommand.Execute, RefusedDuringBdat: true);
        specs[(int)SmtpCommand.XForward] = new(XForwardCommand.Execute, RefusedDuringBdat: true);
        specs[(int)SmtpCommand.Wiz] = new(BasicCommands.Wiz);
        specs[(int)SmtpCommand.Shell] = new(BasicCommands.Shell);
        specs[(int)SmtpCommand.Kill] = new(BasicCommands.Kill);
        return specs;
    }
}
