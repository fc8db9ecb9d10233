namespace Smtpd;

/// <summary>The fixed replies of AUTH, pre-encoded with or without enhanced codes like <see cref="ReplyTable"/>.</summary>
internal sealed class AuthReplyTable
{
    public AuthReplyTable(ReplyTable replies)
    {
        StartTlsFirst = replies.E(538, "5.7.11", "Error: Must issue a STARTTLS command first");
        NoIdentityChanges = replies.E(503, "5.5.1", "Error: No identity changes permitted");
        Unrecognized = replies.E(504, "5.5.4", "Error: Unrecognized authentication type");
        Aborted = replies.E(501, "5.5.4", "Authentication aborted");
        InvalidUserdata = replies.E(501, "5.5.4", "Error: invalid userdata");
        MissingUsername = replies.E(501, "5.5.4", "Error: missing username");
        Succeeded = replies.E(235, "2.7.0", "Authentication successful");
        TooManyFailures = replies.E(421, "4.7.0", "Error: too many failed authentication attempts");
    }

    /// <summary>The refusal of AUTH to an address that failed too often (<see cref="SmtpServerOptions.MaxAuthFailuresPerClient"/>); the address varies, so it is formatted.</summary>
    public static string RateLimitedText(System.Net.IPAddress client) => $"Error: too many failed authentications from {client}, try again later";

    /// <summary><c>334 </c> with the trailing space of RFC 4954 (an empty challenge).</summary>
    public static byte[] EmptyChallenge { get; } = "334 \r\n"u8.ToArray();

    public byte[] StartTlsFirst { get; }

    public byte[] NoIdentityChanges { get; }

    public byte[] Unrecognized { get; }

    public byte[] Aborted { get; }

    public byte[] InvalidUserdata { get; }

    public byte[] MissingUsername { get; }

    public byte[] Succeeded { get; }

    public byte[] TooManyFailures { get; }
}
