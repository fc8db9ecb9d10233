using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>
/// <c>MAIL FROM</c>: the transaction limit, then the address and every parameter are checked; the envelope the command
/// proposes (with BODY, SMTPUTF8, REQUIRETLS and the DSN values) is what the handler sees, and becomes the transaction's only when the
/// sender is accepted. A refused MAIL leaves nothing behind.
/// </summary>
internal static class MailCommand
{
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        ReplyTable replies = protocol.Endpoint.Replies;
        SmtpServerOptions options = protocol.Options;
        if (options.MaxTransactions > 0 && ++protocol.MailCommands > options.MaxTransactions)
        {
            // RFC 9422 MAILMAX counts MAIL commands, which a pipelining client can count without reading replies.
            SmtpLog.ClientMisbehaved(protocol.Logger, protocol.Session.Id, "too many transactions on one connection");
            return protocol.Final(replies.TooManyTransactions);
        }

        AddressParseError error = AddressParser.Parse(command.Line, isMail: true, options.LenientAddressParsing, out string address, out Dictionary<string, string?>? args, out string? duplicate);
        if (error == AddressParseError.Syntax)
        {
            return protocol.Reply(replies.BadSender);
        }

        if (error == AddressParseError.DuplicateParameter)
        {
            return protocol.Reply(501, "5.5.4", $"Error: duplicate {duplicate} parameter");
        }

        if (args is not null && Parameters.FirstValueless(args, "BODY", "SIZE", "RET", "ENVID") is { } valueless)
        {
            return protocol.Reply(501, "5.5.4", $"Error: {valueless} parameter requires a value");
        }

        if (protocol.Session.CurrentTransaction?.HasSender == true)
        {
            return protocol.Reply(replies.NestedMail);
        }

        string? body = null;
        string? ret = null;
        string? envId = null;
        bool requireTls = false;
        if (args is not null)
        {
            if (args.TryGetValue("SIZE", out string? sizeText))
            {
                if (!Parameters.IsSizeSyntax(sizeText!))
                {
                    return protocol.Reply(replies.BadSizeSyntax);
                }

                if (options.Size > 0 && !options.HideSize && (!ulong.TryParse(sizeText, out ulong declared) || declared > (ulong)options.Size))
                {
                    return protocol.Reply(replies.MessageTooBig);
                }
            }

            if (args.TryGetValue("BODY", out body) && !string.Equals(body, "7BIT", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(body, "8BITMIME", StringComparison.OrdinalIgnoreCase)
                && !(string.Equals(body, "BINARYMIME", StringComparison.OrdinalIgnoreCase) && protocol.IsChunkingEnabled))
            {
                return protocol.Reply(protocol.IsChunkingEnabled ? replies.BadBodyWithBinary : replies.BadBody);
            }

            if (args.TryGetValue("SMTPUTF8", out string? utf8) && utf8 is not null)
            {
                return protocol.Reply(replies.BadSmtpUtf8);
            }

            requireTls = args.TryGetValue("REQUIRETLS", out string? requireTlsValue);
            if (requireTls)
            {
                if (!protocol.Session.Secure)
                {
                    return protocol.Reply(replies.RequireTlsNotPermitted);
                }

                if (requireTlsValue is not null)
                {
                    return protocol.Reply(replies.BadRequireTls);
                }
            }

            if (protocol.Session.DsnEnabled)
            {
                if (args.TryGetValue("RET", out ret)
                    && !string.Equals(ret, "FULL", StringComparison.OrdinalIgnoreCase) && !string.Equals(ret, "HDRS", StringComparison.OrdinalIgnoreCase))
                {
                    return protocol.Reply(replies.BadRet);
                }

                args.TryGetValue("ENVID", out envId);
            }
        }

        SmtpEnvelope proposed = protocol.Transaction.Propose();
        if (args is not null)
        {
            proposed.BodyType = body?.ToLowerInvariant() ?? proposed.BodyType;
            proposed.SmtpUtf8 = args.ContainsKey("SMTPUTF8");
            proposed.RequireTls = requireTls;
            if (proposed.Dsn is { } dsn)
            {
                dsn.Ret = ret?.ToUpperInvariant();
                dsn.EnvId = envId;
            }
        }

        return CompleteAsync(protocol, new SmtpAddress(address, args));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<Outcome> CompleteAsync(SmtpProtocol protocol, SmtpAddress sender)
    {
        SmtpResult result = await protocol.Handlers.MailFromAsync(sender);
        if (!result.IsAccepted)
        {
            protocol.Transaction.Withdraw();
            return protocol.Replies.WriteResult(result);
        }

        protocol.Transaction.Begin(sender, SmtpActivities.StartTransaction(protocol.Session, sender.Address, protocol.Options.TraceSenderAddress));
        protocol.Replies.Write(protocol.Endpoint.Replies.MailAccepted);
        return Outcome.Continue;
    }
}
