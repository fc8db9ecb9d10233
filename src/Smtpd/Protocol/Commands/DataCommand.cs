using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// DATA: <c>354</c>, then (<see cref="Outcome.ReceiveMessage"/>) the message streams into the DATA handler; bytes it
/// leaves unread are drained; the reply (one per accepted RCPT in LMTP) waits for both. A failure of the client's
/// connection ends the session with nothing acknowledged; a failure of the handler is its <c>451</c>.
/// </summary>
internal static class DataCommand
{
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        if ((protocol.Session.CurrentTransaction?.RecipientCount ?? 0) == 0)
        {
            return protocol.Reply(protocol.Endpoint.Replies.NeedRcpt);
        }

        if (protocol.Session.Envelope.BodyType == SmtpEnvelope.BinaryMime)
        {
            // RFC 3030: a BINARYMIME message can only be sent with BDAT.
            return protocol.Reply(protocol.Endpoint.Replies.BinaryMimeNeedsBdat);
        }

        protocol.Replies.Write(protocol.Endpoint.Replies.StartData);
        return new(Outcome.ReceiveMessage);
    }

    /// <summary>Receives the message into the handler and answers it; <see cref="Outcome.Close"/> when the connection must end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<Outcome> ReceiveAsync(SmtpProtocol protocol)
    {
        // The 354 (and the replies pipelined before it) must reach the client before it sends the message.
        await protocol.Replies.FlushAsync();
        ConnectionTransport transport = protocol.Transport;
        transport.Reader.ReadSize = ConnectionReader.MessageReadSize;
        var message = new SmtpDataStream(new DataBodyReader(transport, protocol.Options.BareLineEndings, protocol.Server.DataRate), protocol.Options.Size);
        SmtpResult result;
        try
        {
            // The client sends the message after the 354: the handler starts when its first bytes are there.
            await transport.WaitForInputAsync();
            result = await protocol.Handlers.DataAsync(message);
            await message.DrainAsync(transport.Aborted);
        }
        catch (Exception ex) when (message.Failure is not null || transport.IsAborted || ConnectionTransport.IsConnectionFailure(ex))
        {
            // The handler invoker lets only failures of the client's connection through; so does the drain.
            return await ConnectionLostAsync(protocol, message.ByteLength, message.IsTooSlow);
        }

        // A refusal of the server's own (over size, bare line endings) stands whatever the handler returned.
        ReplyTable replies = protocol.Endpoint.Replies;
        (byte[]? refusal, string? refusalText) = protocol.Options.RejectOversized && message.SizeExceeded ? (replies.MessageTooBig, "552 message too big")
            : message.IsRefusedForBareLineEndings ? (replies.BareLineEndings, "550 bare line endings")
            : (null, null);
        (bool accepted, Outcome outcome) = WriteReplies(protocol, result, refusal);
        EndMessage(protocol, message.ByteLength, accepted, refusalText ?? Describe(result));
        return outcome;
    }

    /// <summary>
    /// After the replies to a message (DATA's, or BDAT's last chunk): its metric, log line and activity, the transaction
    /// count, the unrecognized-command counter, the reader's command buffer, the reset.
    /// </summary>
    internal static void EndMessage(SmtpProtocol protocol, long size, bool accepted, string description)
    {
        MailTransaction transaction = protocol.Transaction;
        protocol.Server.Metrics.Message(accepted, size, transaction.StartTimestamp);
        LogTransaction(protocol, size, description);
        if (transaction.Activity is { } activity)
        {
            activity.SetTag("smtpd.message.size", size);
            activity.SetTag("smtpd.transaction.recipient_count", transaction.RecipientCount);
            if (!accepted)
            {
                activity.SetStatus(ActivityStatusCode.Error, description);
            }
        }

        transaction.EndActivity(accepted ? "accepted" : "refused");
        protocol.Session.Transaction++;
        protocol.UnrecognizedCount = 0;
        protocol.Transport.Reader.ReadSize = ConnectionReader.CommandReadSize;
        protocol.ResetTransaction(messageEnded: true);
    }

    /// <summary>The client vanished or timed out mid-message: nothing is acknowledged (a timeout is told so).</summary>
    internal static async ValueTask<Outcome> ConnectionLostAsync(SmtpProtocol protocol, long size, bool tooSlow)
    {
        LogTransaction(protocol, size, "connection lost before the end of the message");
        if (protocol.Transport.Timeouts.TimedOut && !protocol.Transport.IsAborted)
        {
            if (tooSlow)
            {
                SmtpLog.TooSlow(protocol.Logger, protocol.Session.Id, protocol.Session.RemoteAddress, size, protocol.Options.MinDataRate);
            }
            else
            {
                SmtpLog.TimedOut(protocol.Logger, protocol.Session.Id, protocol.Transport.TimeoutMs, protocol.Session.RemoteAddress);
            }

            protocol.Replies.Write(protocol.Endpoint.Replies.Timeout);
            try
            {
                await protocol.Replies.FlushAsync();
            }
            catch (Exception ex) when (ConnectionTransport.IsConnectionFailure(ex))
            {
                // Gone as well.
            }
        }

        return Outcome.Close;
    }

    /// <summary>The reply (LMTP: one per accepted RCPT); whether at least one accepts the message, and whether a 421 ends the connection.</summary>
    internal static (bool Accepted, Outcome Outcome) WriteReplies(SmtpProtocol protocol, SmtpResult result, byte[]? refusal)
    {
        ReplyTable replies = protocol.Endpoint.Replies;
        bool lmtp = protocol.Options.Lmtp;
        List<int>? map = lmtp ? protocol.Transaction.LmtpReplies : null;
        bool anyAccepted = false;
        Outcome outcome = Outcome.Continue;
        int count = map?.Count ?? 1;
        for (int i = 0; i < count; i++)
        {
            if (refusal is not null)
            {
                protocol.Replies.Write(refusal);
                continue;
            }

            SmtpResult item = result;
            if (result.RecipientResults is { } perRecipient)
            {
                int index = map?[i] ?? 0;
                if (!lmtp)
                {
                    // SMTP has one reply: the first refusal, else the first result.
                    item = perRecipient.Count == 0 ? default : perRecipient.FirstOrDefault(r => !r.IsAccepted, perRecipient[0]);
                }
                else if (index < perRecipient.Count)
                {
                    item = perRecipient[index];
                }
                else
                {
                    SmtpLog.ClientMisbehaved(protocol.Logger, protocol.Session.Id, "the DATA handler returned fewer results than recipients");
                    item = HandlerInvoker.InternalError;
                }

                if (item.RecipientResults is not null)
                {
                    item = HandlerInvoker.InternalError;
                }
            }

            anyAccepted |= item.IsAccepted;
            if (!item.IsAccepted)
            {
                outcome = protocol.Replies.WriteResult(item) == Outcome.Close ? Outcome.Close : outcome;
            }
            else if (item.Message is { } text)
            {
                protocol.Replies.WriteLine(250, replies.Enhanced ? "2.6.0" : null, text);
            }
            else
            {
                protocol.Replies.Write(lmtp ? replies.MessageAccepted : replies.MessageQueued);
            }
        }

        return (anyAccepted, outcome);
    }

    internal static string Describe(SmtpResult result)
    {
        if (result.RecipientResults is { } list)
        {
            return string.Join(", ", list.Select(r => r.IsAccepted ? "250" : r.Code.ToString(CultureInfo.InvariantCulture)));
        }

        return result.IsAccepted ? "250 accepted" : $"{result.Code} {result.Message}";
    }

    internal static void LogTransaction(SmtpProtocol protocol, long size, string outcome)
    {
        if (protocol.IsIgnored || !protocol.Logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        SmtpEnvelope envelope = protocol.Session.Envelope;
        long start = protocol.Transaction.StartTimestamp;
        long duration = start == 0 ? 0 : (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        SmtpLog.Transaction(protocol.Logger, protocol.Session.Id, envelope.MailFrom?.Address ?? "", envelope.RcptTo.Count,
            string.Join(">, <", envelope.RcptTo.Select(r => r.Address)), size, duration, outcome);
    }
}
