namespace Smtpd;

/// <summary>The commands without handlers: RSET, NOOP, QUIT, HELP, VRFY and the reference's WIZ, SHELL and KILL. They allocate nothing.</summary>
internal static class BasicCommands
{
    public static ValueTask<Outcome> Rset(SmtpProtocol protocol, CommandLine command)
    {
        protocol.ResetTransaction();
        return protocol.Reply(protocol.Endpoint.Replies.Flushed);
    }

    public static ValueTask<Outcome> Noop(SmtpProtocol protocol, CommandLine command) => protocol.Reply(protocol.Endpoint.Replies.Ok);

    public static ValueTask<Outcome> Quit(SmtpProtocol protocol, CommandLine command) => protocol.Final(protocol.Endpoint.Replies.Bye);

    public static ValueTask<Outcome> Help(SmtpProtocol protocol, CommandLine command) => protocol.Reply(protocol.Endpoint.Replies.Help);

    public static ValueTask<Outcome> Vrfy(SmtpProtocol protocol, CommandLine command) =>
        protocol.Reply(command.HasNoArguments ? protocol.Endpoint.Replies.VrfySyntax : protocol.Endpoint.Replies.Vrfy);

    public static ValueTask<Outcome> Wiz(SmtpProtocol protocol, CommandLine command)
    {
        if (command.HasNoArguments)
        {
            return protocol.Reply(protocol.Endpoint.Replies.NoWizard);
        }

        protocol.Session.IsWizard = true;
        return protocol.Reply(protocol.Endpoint.Replies.Wizard);
    }

    public static ValueTask<Outcome> Shell(SmtpProtocol protocol, CommandLine command)
    {
        if (!protocol.Session.IsWizard)
        {
            return protocol.Reply(protocol.Endpoint.Replies.MereMortals);
        }

        SmtpLog.ClientMisbehaved(protocol.Logger, protocol.Session.Id, "client tried to invoke SHELL");
        return protocol.Reply(protocol.Endpoint.Replies.ShellRefused);
    }

    public static ValueTask<Outcome> Kill(SmtpProtocol protocol, CommandLine command)
    {
        SmtpLog.ClientMisbehaved(protocol.Logger, protocol.Session.Id, "client tried to invoke KILL");
        return protocol.Reply(protocol.Endpoint.Replies.CannotKill);
    }
}
