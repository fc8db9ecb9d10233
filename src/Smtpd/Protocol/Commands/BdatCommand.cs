using System.Globalization;
using System.Text;
using System.Runtime.CompilerServices;

namespace Smtpd;

/// <summary>The chunk a BDAT command announced: its size, whether it is the last, and the reply that refuses it (it is then read and discarded).</summary>
internal readonly record struct BdatChunk(long Size, bool Last, byte[]? Refusal);

/// <summary>
/// <c>BDAT chunk-size [LAST]</c> (RFC 3030 CHUNKING): the command line is parsed and checked here; the chunk's octets,
/// which follow the line, are read by <see cref="ReceiveAsync"/> (<see cref="Outcome.ReceiveChunk"/>) into the DATA
/// handler's stream (<see cref="ChunkBodyReader"/>), or discarded when the chunk is refused, so the session stays in
/// step with the client whatever the reply. One reply per chunk; after the last, the DATA reply (one per accepted RCPT
/// in LMTP).
/// </summary>
/// <remarks>
/// Framing rule: a BDAT line whose size cannot be read (missing, not digits, beyond 64 bits, extra or unknown tokens)
/// leaves the length of the data that follows unknown, so the data cannot be told from commands: the reply is <c>501</c>
/// and the connection is closed. Every other refusal (no greeting, authentication required, no MAIL, no accepted RCPT,
/// a transaction that already failed, the size limit) reads and discards the announced octets first.
/// </remarks>
internal static class BdatCommand
{
    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        if (!TryParse(command.Arguments, out long size, out bool last))
        {
            SmtpLog.ClientMisbehaved(protocol.Logger, protocol.Session.Id, "BDAT without a readable chunk size: the input cannot be framed, closing");
            return protocol.Final(protocol.Endpoint.Replies.BdatSyntax);
        }

        protocol.PendingChunk = new BdatChunk(size, last, Check(protocol, size, last));
        return new(Outcome.ReceiveChunk);
    }

    /// <summary>Receives the chunk of <see cref="SmtpProtocol.PendingChunk"/> and answers it; <see cref="Outcome.Close"/> when the connection must end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<Outcome> ReceiveAsync(SmtpProtocol protocol)
    {
        BdatChunk chunk = protocol.PendingChunk;
        ChunkedMessage? message = protocol.Session.CurrentTransaction?.Chunks;
        MessageBodyReader? input = message?.Body;
        try
        {
            if (chunk.Refusal is { } refusal)
            {
                // Discarded under the minimum data rate too: the transaction's message's when there is one, else the chunk's own.
                input ??= new ChunkBodyReader(protocol.Transport, protocol.Server.DataRate);
                await input.SkipAsync(chunk.Size, protocol.Transport.Aborted);
                return Refuse(protocol, message, refusal, chunk.Last);
            }

            ChunkBodyReader body = message!.Body;
            body.Offer(chunk.Size, chunk.Last);
            if (message.Handler is null)
            {
                protocol.Transport.Reader.ReadSize = ConnectionReader.MessageReadSize;
                message.Handler = protocol.Handlers.StartData(message.Stream, body.HandlerEnded);
            }

            await body.WaitAsync();
            if (body.Failure is { } failure)
            {
                throw failure;
            }

            if (message.Handler.IsCompleted)
            {
                // The handler returned before the end of the chunk: the rest is skipped.
                await body.DrainAsync(protocol.Transport.Aborted);
            }

            if (chunk.Last)
            {
                SmtpResult result = await message.Handler;
                (bool accepted, Outcome outcome) = DataCommand.WriteReplies(protocol, result, refusal: null);
                DataCommand.EndMessage(protocol, message.Stream.ByteLength, accepted, DataCommand.Describe(result));
                return outcome;
            }

            if (message.Handler.IsCompleted && !protocol.Options.Lmtp && await message.Handler is { IsAccepted: false } early)
            {
                // The handler refused before the last chunk: this chunk gets its reply, the rest are discarded.
                message.Refusal = Encode(protocol, early);
                message.RefusalReason = DataCommand.Describe(early);
                return Refuse(protocol, message, message.Refusal, last: false);
            }

            WriteChunkAccepted(protocol, chunk.Size);
            return Outcome.Continue;
        }
        catch (Exception ex) when (ConnectionTransport.IsConnectionFailure(ex))
        {
            // The client vanished or timed out inside the chunk; the handler's reads fail too. Nothing is acknowledged.
            message?.Abandon();
            await protocol.Handlers.SettleDataAsync();
            return await DataCommand.ConnectionLostAsync(protocol, message?.Stream.ByteLength ?? 0, input?.IsTooSlow ?? false);
        }
    }

    /// <summary>The refusal of the chunk, or <see langword="null"/> when it goes to the DATA handler (which starts with the first chunk).</summary>
    private static byte[]? Check(SmtpProtocol protocol, long size, bool last)
    {
        ReplyTable replies = protocol.Endpoint.Replies;
        if (protocol.Session.HostNameAppearsAs is null)
        {
            return replies.SendHeloFirst;
        }

        if (protocol.IsAuthRequired)
        {
            return replies.E(530, "5.7.0", protocol.Options.AuthRequiredMessage);
        }

        MailTransaction? transaction = protocol.Session.CurrentTransaction;
        if (transaction is not { HasSender: true })
        {
            // Also a BDAT after BDAT LAST (RFC 3030: 503): the transaction has ended.
            return replies.NeedMail;
        }

        if (transaction.RecipientCount == 0)
        {
            return replies.NeedRcpt;
        }

        ChunkedMessage message = transaction.Chunks ??= new ChunkedMessage(protocol.Transport, protocol.Options.Size, protocol.Server.DataRate);
        if (message.Refusal is { } refusal)
        {
            return refusal;
        }

        long limit = protocol.Options.Size;
        message.Announced = size > long.MaxValue - message.Announced ? long.MaxValue : message.Announced + size;
        if (limit > 0 && message.Announced > limit)
        {
            // The chunk that crosses the limit is refused; the handler's stream fails, the rest of the transaction is discarded.
            message.Abandon();
            message.Refusal = replies.MessageTooBig;
            message.RefusalReason = "552 message too big";
            return message.Refusal;
        }

        return null;
    }

    /// <summary>
    /// Answers a refused chunk. In a failed transaction the last chunk ends it (as a refused message): in LMTP it is
    /// answered once per accepted recipient, as the client expects after <c>BDAT … LAST</c>.
    /// </summary>
    private static Outcome Refuse(SmtpProtocol protocol, ChunkedMessage? message, byte[] refusal, bool last)
    {
        int count = last && message is not null && protocol.Options.Lmtp ? Math.Max(1, protocol.Transaction.LmtpReplies.Count) : 1;
        for (int i = 0; i < count; i++)
        {
            protocol.Replies.Write(refusal);
        }

        bool close = refusal.AsSpan().StartsWith("421"u8);
        if (last && message is not null)
        {
            DataCommand.EndMessage(protocol, message.Announced, accepted: false, message.RefusalReason ?? "refused");
        }

        return close ? Outcome.Close : Outcome.Continue;
    }

    private static byte[] Encode(SmtpProtocol protocol, SmtpResult result)
    {
        int code = result.Code == 0 ? 250 : result.Code;
        return ReplyWriter.Encode(code, protocol.Endpoint.Replies.EnhancedFor(code, result.EnhancedCode), result.Message ?? "");
    }

    /// <summary><c>250 2.0.0 OK: n octets received</c>, formatted without allocating.</summary>
    private static void WriteChunkAccepted(SmtpProtocol protocol, long size)
    {
        Span<char> text = stackalloc char[48];
        "OK: ".CopyTo(text);
        size.TryFormat(text[4..], out int digits, provider: CultureInfo.InvariantCulture);
        int length = 4 + digits;
        " octets received".CopyTo(text[length..]);
        length += " octets received".Length;
        protocol.Replies.WriteLine(250, protocol.Endpoint.Replies.Enhanced ? "2.0.0" : null, text[..length]);
    }

    /// <summary><c>size</c> or <c>size LAST</c> (any case, spaces between): size 0 to 2^63-1 in digits only.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> arguments, out long size, out bool last)
    {
        size = 0;
        last = false;
        ReadOnlySpan<byte> rest = arguments.Trim((byte)' ');
        int space = rest.IndexOf((byte)' ');
        ReadOnlySpan<byte> digits = space < 0 ? rest : rest[..space];
        if (digits.IsEmpty || digits.Length > 19)
        {
            return false;
        }

        foreach (byte b in digits)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }

            size = (size * 10) + (b - '0');
            if (size < 0)
            {
                return false;
            }
        }

        if (space < 0)
        {
            return true;
        }

        ReadOnlySpan<byte> marker = rest[space..].TrimStart((byte)' ');
        last = Ascii.EqualsIgnoreCase(marker, "LAST"u8);
        return last;
    }
}
