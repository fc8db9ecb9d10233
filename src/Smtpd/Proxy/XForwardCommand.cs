using Microsoft.Extensions.Logging;

namespace Smtpd;

/// <summary>Postfix XFORWARD (§13.3): a trusted peer forwards what it knows about the original client.</summary>
internal static class XForwardCommand
{
    private static readonly string[] Keys = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"];

    public static ValueTask<Outcome> Execute(SmtpProtocol protocol, CommandLine command)
    {
        if (ForwardedAttributes.Accept(protocol, protocol.Trust.IsXForwardOffered, command, Keys, tempUnavailableToo: false) is not { } attributes)
        {
            return new(Outcome.Continue);
        }

        SmtpSession session = protocol.Session;
        Dictionary<string, string?> map = session.XForwardAttributes;
        if (attributes.TryGet("ADDR", out string? address) && address is not null)
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
