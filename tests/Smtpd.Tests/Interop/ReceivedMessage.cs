using System.Text;

namespace Smtpd.Tests.Interop;

/// <summary>A message as the DATA handler saw it, with the session facts the matrix checks.</summary>
public sealed record ReceivedMessage(
    string SessionId, string MailFrom, IReadOnlyList<string> Recipients, byte[] Content, bool Secure, string? User, string TransmissionType)
{
    public string Text => Encoding.UTF8.GetString(Content);
}
