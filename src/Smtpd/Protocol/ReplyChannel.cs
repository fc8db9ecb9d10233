using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>
/// Every reply of a connection goes through here: a pre-encoded reply is copied, any other is formatted (control
/// characters replaced) into the transport's writer; a reply of 400 or above becomes <see cref="SmtpSession.Error"/>;
/// each is logged at debug level. Replies accumulate until <see cref="FlushAsync"/>, which the command loop calls once
/// per pipelined group (RFC 2920).
/// </summary>
internal sealed class ReplyChannel(ConnectionTransport transport, SmtpSession session, ReplyTable table, ILogger logger)
{
    /// <summary>The server's pre-encoded replies.</summary>
    public ReplyTable Table => table;

    /// <summary>Replies were written since the last flush.</summary>
    public bool HasPending { get; private set; }

    /// <summary>A pre-encoded reply (CRLF included).</summary>
    public void Write(byte[] reply)
    {
        transport.Writer.Write(reply);
        HasPending = true;
        if (reply[0] >= (byte)'4')
        {
            session.SetErrorLine(reply);
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(logger, session.Id, Encoding.UTF8.GetString(reply.AsSpan(0, reply.Length - 2)));
        }
    }

    /// <summary>A reply whose enhanced code <paramref name="enhanced"/> is written when enhanced codes are on.</summary>
    public void Write(int code, string enhanced, string text) => WriteLine(code, table.Enhanced ? enhanced : null, text);

    /// <summary>A reply line with exactly <paramref name="enhanced"/> (or none).</summary>
    public void WriteLine(int code, string? enhanced, string text)
    {
        ReplyWriter.Write(transport.Writer, code, enhanced, text);
        HasPending = true;
        if (code >= 400 || logger.IsEnabled(LogLevel.Debug))
        {
            string line = enhanced is null ? $"{code} {Sanitized(text)}" : $"{code} {enhanced} {Sanitized(text)}";
            if (code >= 400)
            {
                session.Error = line;
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                SmtpLog.Reply(logger, session.Id, line);
            }
        }
    }

    /// <summary>A positive reply line formatted from a span (a chunk's <c>250</c>): nothing allocated unless debug logging is on.</summary>
    public void WriteLine(int code, string? enhanced, ReadOnlySpan<char> text)
    {
        ReplyWriter.Write(transport.Writer, code, enhanced, text);
        HasPending = true;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(logger, session.Id, enhanced is null ? $"{code} {text}" : $"{code} {enhanced} {text}");
        }
    }

    /// <summary>A handler's result (a refusal, or a 2xx with its own text); a 421 makes the outcome <see cref="Outcome.Close"/>.</summary>
    /// <param name="result">The result.</param>
    /// <param name="enhanced"><see langword="false"/> for replies before the session proper (connect, implicit TLS), which never carry one.</param>
    public Outcome WriteResult(SmtpResult result, bool enhanced = true)
    {
        int code = result.Code == 0 ? 250 : result.Code;
        WriteLine(code, enhanced ? table.EnhancedFor(code, result.EnhancedCode) : null, result.Message ?? "");
        return code == 421 ? Outcome.Close : Outcome.Continue;
    }

    /// <summary>The HELO reply, or the multi-line EHLO/LHLO reply with the keywords <paramref name="capabilities"/> selects.</summary>
    public void WriteGreeting(string firstLine, CapabilityTable? keywords, Capabilities capabilities)
    {
        if (keywords is null)
        {
            ReplyWriter.Write(transport.Writer, 250, null, firstLine);
        }
        else
        {
            keywords.Write(transport.Writer, firstLine, capabilities);
        }

        HasPending = true;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(logger, session.Id, "250 " + firstLine);
        }
    }

    /// <summary>A SASL challenge: <c>334 </c> and the base64 text (the reference's trailing space when it is empty).</summary>
    public void WriteChallenge(string challenge)
    {
        if (challenge.Length == 0)
        {
            transport.Writer.Write(AuthReplyTable.EmptyChallenge);
        }
        else
        {
            ReplyWriter.Write(transport.Writer, 334, null, challenge);
        }

        HasPending = true;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            SmtpLog.Reply(logger, session.Id, "334 " + challenge);
        }
    }

    /// <summary>Sends every reply written so far in one write.</summary>
    public ValueTask FlushAsync()
    {
        HasPending = false;
        return transport.FlushAsync();
    }

    private static string Sanitized(string text) => XText.HasControl(text)
        ? string.Create(text.Length, text, static (span, t) =>
        {
            for (int i = 0; i < t.Length; i++)
            {
                span[i] = t[i] < 0x20 || (t[i] >= 0x7F && t[i] <= 0x9F) ? ' ' : t[i];
            }
        })
        : text;
}
