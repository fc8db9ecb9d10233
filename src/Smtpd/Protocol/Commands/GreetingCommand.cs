using System.Text;

namespace Smtpd;

/// <summary>HELO, EHLO and LHLO (after the dispatcher's LMTP rules): a new transaction, the client's name, the reply with the keywords of this connection.</summary>
internal static class GreetingCommand
{
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        ReplyTable replies = protocol.Endpoint.Replies;
        ReadOnlySpan<byte> trimmed = command.Arguments.Trim(" \t"u8);
        if (trimmed.IsEmpty || trimmed.IndexOfAny(" \t"u8) >= 0)
        {
            return protocol.Reply(command.Command switch
            {
                SmtpCommand.Helo => replies.HeloSyntax,
                SmtpCommand.Ehlo => replies.EhloSyntax,
                _ => replies.LhloSyntax,
            });
        }

        string hostname = Encoding.UTF8.GetString(trimmed);
        if (hostname.Length > 300 || XText.HasControl(hostname))
        {
            return protocol.Reply(replies.BadHostname);
        }

        protocol.ResetTransaction();
        protocol.Session.HostNameAppearsAs = hostname.ToLowerInvariant();
        string firstLine = FormatFirstLine(protocol.Options, protocol.Session);
        if (command.Command == SmtpCommand.Helo)
        {
            protocol.Replies.WriteGreeting(firstLine, null, Capabilities.None);
        }
        else
        {
            protocol.Replies.WriteGreeting(firstLine, protocol.Endpoint.Capabilities, CurrentCapabilities(protocol));
        }

        return new(Outcome.Continue);
    }

    /// <summary>The keywords that depend on the connection's state, in the reference's rules.</summary>
    private static Capabilities CurrentCapabilities(SmtpProtocol protocol)
    {
        SmtpSession session = protocol.Session;
        Capabilities capabilities = Capabilities.None;
        if (protocol.IsAuthEnabled && session.User is null && (session.Secure || !protocol.Options.HideAuthBeforeTls))
        {
            capabilities |= Capabilities.Auth;
        }

        if (!session.Secure && !protocol.Options.HideStartTls && protocol.IsStartTlsUsable)
        {
            capabilities |= Capabilities.StartTls;
        }

        if (session.Secure && !protocol.Options.HideRequireTls)
        {
            capabilities |= Capabilities.RequireTls;
        }

        if (protocol.Trust.IsXClientOffered && !protocol.IsDisabled(SmtpCommand.XClient))
        {
            capabilities |= Capabilities.XClient;
        }

        if (protocol.Trust.IsXForwardOffered && !protocol.IsDisabled(SmtpCommand.XForward))
        {
            capabilities |= Capabilities.XForward;
        }

        if (protocol.IsChunkingEnabled)
        {
            capabilities |= Capabilities.Chunking;
        }

        return capabilities;
    }

    /// <summary><see cref="SmtpServerOptions.HeloResponse"/> with each <c>%s</c> replaced in turn by the server name and the client's host name (further ones by nothing).</summary>
    private static string FormatFirstLine(SmtpServerOptions options, SmtpSession session)
    {
        string format = options.HeloResponse;
        if (!format.Contains("%s", StringComparison.Ordinal))
        {
            return format;
        }

        var builder = new StringBuilder(format.Length + 64);
        int index = 0;
        int position = 0;
        while (true)
        {
            int next = format.IndexOf("%s", position, StringComparison.Ordinal);
            if (next < 0)
            {
                builder.Append(format, position, format.Length - position);
                break;
            }

            builder.Append(format, position, next - position);
            builder.Append(index switch
            {
                0 => options.Name,
                1 => session.ClientHostname,
                _ => "",
            });
            index++;
            position = next + 2;
        }

        return builder.ToString();
    }
}
