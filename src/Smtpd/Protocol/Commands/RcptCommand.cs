using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary><c>RCPT TO</c>: the address and its DSN parameters, the recipient and envelope limits, the handler; a repeated address replaces the earlier one.</summary>
internal static class RcptCommand
{
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        ReplyTable replies = protocol.Endpoint.Replies;
        AddressParseError error = AddressParser.Parse(command.Line, isMail: false, protocol.Options.LenientAddressParsing, out string address, out Dictionary<string, string?>? args, out string? duplicate);
        if (error == AddressParseError.Syntax || address.Length == 0)
        {
            return protocol.Reply(replies.BadRecipient);
        }

        if (error == AddressParseError.DuplicateParameter)
        {
            return protocol.Reply(501, "5.5.4", $"Error: duplicate {duplicate} parameter");
        }

        if (args is not null && Parameters.FirstUnsupported(protocol, args, isMail: false) is { } unsupported)
        {
            return protocol.Reply(555, "5.5.4", $"Error: unsupported parameter {unsupported}");
        }

        if (args is not null && Parameters.FirstValueless(args, "NOTIFY", "ORCPT") is { } valueless)
        {
            return protocol.Reply(501, "5.5.4", $"Error: {valueless} parameter requires a value");
        }

        MailTransaction? transaction = protocol.Session.CurrentTransaction;
        if (transaction is null || !transaction.HasSender)
        {
            return protocol.Reply(replies.NeedMail);
        }

        SmtpRecipientDsn? dsn = null;
        if (protocol.Session.DsnEnabled && args is not null)
        {
            string[]? notify = null;
            if (args.TryGetValue("NOTIFY", out string? notifyText))
            {
                notify = notifyText!.ToUpperInvariant().Split(',');
                foreach (string value in notify)
                {
                    if (value is not ("NEVER" or "SUCCESS" or "FAILURE" or "DELAY"))
                    {
                        return protocol.Reply(replies.BadNotify);
                    }
                }

                if (notify.Length > 1 && Array.IndexOf(notify, "NEVER") >= 0)
                {
                    return protocol.Reply(replies.NotifyNeverCombined);
                }
            }

            if (args.TryGetValue("ORCPT", out string? orcpt) && (!Parameters.IsOrcptSyntax(orcpt!) || !Parameters.IsRawXText(command.Line, "ORCPT")))
            {
                return protocol.Reply(replies.BadOrcpt);
            }

            if (notify is not null || orcpt is not null)
            {
                dsn = new SmtpRecipientDsn(notify, orcpt);
            }
        }

        int maxRecipients = protocol.Options.MaxRecipients;
        if ((maxRecipients > 0 && transaction.RecipientCount >= maxRecipients && transaction.IndexOfRecipient(address) < 0)
            || transaction.WouldExceed(protocol.Options.MaxEnvelopeSize, command.Line.Length))
        {
            return protocol.Reply(replies.TooManyRecipients);
        }

        return CompleteAsync(protocol, new SmtpAddress(address, args) { Dsn = dsn }, command.Line.Length);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<Outcome> CompleteAsync(SmtpProtocol protocol, SmtpAddress recipient, int lineLength)
    {
        SmtpResult result = await protocol.Handlers.RcptToAsync(recipient);
        if (!result.IsAccepted)
        {
            return protocol.Replies.WriteResult(result);
        }

        int index = protocol.Transaction.AddRecipient(recipient, lineLength);
        if (protocol.Options.Lmtp)
        {
            // LMTP answers once per accepted RCPT command (RFC 2033), even for a repeated address.
            protocol.Transaction.LmtpReplies.Add(index);
        }

        protocol.Replies.Write(protocol.Endpoint.Replies.RcptAccepted);
        return Outcome.Continue;
    }
}
