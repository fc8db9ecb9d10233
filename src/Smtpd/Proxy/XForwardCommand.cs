using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>Postfix XFORWARD (§13.3): a trusted peer forwards what it knows about the original client.</summary>
internal static class XForwardCommand
{
    private static readonly string[] Keys = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"];

    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        if (!protocol.Trust.IsXForwardOffered)
        {
            return protocol.Reply(550, "5.7.0", "Error: Not allowed");
        }

        SmtpSession session = protocol.Session;
        if (session.CurrentTransaction?.HasSender == true)
        {
            return protocol.Reply(503, "5.5.1", "Error: Mail transaction in progress");
        }

        if (ForwardedAttributes.TryParse(command.Arguments, Keys, tempUnavailableToo: false, out ForwardedAttributes? attributes) is { } error)
        {
            return protocol.Reply(501, "5.5.4", error);
        }

        Dictionary<string, string?> map = session.XForwardAttributes;
        if (attributes!.TryGet("ADDR", out string? address) && address is not null)
        {
            map.TryAdd("ADDR:DEFAULT", session.RemoteAddress.ToString());
            ForwardedAttributes.ApplyAddress(session, address);
        }

        if (attributes.TryGet("PORT", out string? port))
        {
            session.RemotePort = ForwardedAttributes.ParsePort(port);
        }

        if (attributes.TryGet("NAME", out string? name))
        {
            ForwardedAttributes.ApplyName(session, name);
        }

        if (attributes.TryGet("HELO", out string? helo) && !string.IsNullOrEmpty(helo))
        {
            // As the reference: the forwarded HELO name counts as a greeting, so MAIL may follow without EHLO.
            session.HostNameAppearsAs = helo.ToLowerInvariant();
        }

        attributes.RecordInto(map);
        if (protocol.Logger.IsEnabled(LogLevel.Information))
        {
            ProxyLog.XForward(protocol.Logger, session.Id, protocol.Trust.Peer, attributes.ToString());
        }

        protocol.ResetTransaction();
        return protocol.Reply(protocol.Endpoint.Replies.Ok);
    }
}
