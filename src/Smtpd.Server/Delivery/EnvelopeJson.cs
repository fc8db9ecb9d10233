using System.Buffers;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Smtpd.Server.Delivery;

/// <summary>
/// The <c>&lt;id&gt;.json</c> file of a stored message: the envelope and the session fields of server-program.md
/// (<c>mailFrom</c>, <c>rcptTo</c>, <c>remoteAddress</c>, <c>clientHostname</c>, <c>hostNameAppearsAs</c>, <c>user</c>,
/// <c>secure</c>, <c>transmissionType</c>, <c>size</c>).
/// </summary>
internal static class EnvelopeJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes the JSON document, UTF-8 encoded.</summary>
    /// <param name="session">The session of the transaction.</param>
    /// <param name="size">The message size in bytes, without the trace fields.</param>
    public static byte[] Build(SmtpSession session, long size)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(output, WriterOptions))
        {
            json.WriteStartObject();
            json.WritePropertyName("mailFrom");
            WriteAddress(json, session.Envelope.MailFrom);
            json.WriteStartArray("rcptTo");
            foreach (SmtpAddress recipient in session.Envelope.RcptTo)
            {
                WriteAddress(json, recipient);
            }

            json.WriteEndArray();
            json.WriteString("remoteAddress", session.RemoteAddress.Equals(IPAddress.None) ? null : session.RemoteAddress.ToString());
            json.WriteString("clientHostname", session.ClientHostname);
            json.WriteString("hostNameAppearsAs", session.HostNameAppearsAs);
            json.WriteString("user", session.User switch
            {
                null => null,
                string name => name,
                var user => user.ToString(),
            });
            json.WriteBoolean("secure", session.Secure);
            json.WriteString("transmissionType", session.TransmissionType);
            json.WriteNumber("size", size);
            json.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary><c>{ "address": …, "args": { KEY: value or true } }</c>, as the reference exposes an address.</summary>
    private static void WriteAddress(Utf8JsonWriter json, SmtpAddress? address)
    {
        if (address is null)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartObject();
        json.WriteString("address", address.Address);
        json.WriteStartObject("args");
        foreach (KeyValuePair<string, string?> arg in address.Args)
        {
            if (arg.Value is null)
            {
                json.WriteBoolean(arg.Key, true);
            }
            else
            {
                json.WriteString(arg.Key, arg.Value);
            }
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
