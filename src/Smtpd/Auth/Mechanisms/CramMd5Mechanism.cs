using System.Security.Cryptography;
using System.Text;

namespace Smtpd;

/// <summary>
/// CRAM-MD5 (RFC 2195): a fresh challenge <c>&lt;32 hex digits.unix-time@server-name&gt;</c> per attempt; the client
/// answers <c>user SP hex(HMAC-MD5(password, challenge))</c>. The application checks it with
/// <see cref="SmtpAuthRequest.ValidatePassword(string)"/>.
/// </summary>
internal sealed class CramMd5Mechanism(string serverName) : SaslServerMechanism
{
    private string? _challenge;

    public override string Name => SmtpAuthMethods.CramMd5;

    public override bool AcceptsInitialResponse => false;

    public override string SyntaxError => "Error: syntax: AUTH CRAM-MD5";

    public override SaslStep Start(string? initialResponse)
    {
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        _challenge = $"<{Convert.ToHexStringLower(random)}.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}@{serverName}>";
        return SaslStep.Challenge(Convert.ToBase64String(Encoding.UTF8.GetBytes(_challenge)));
    }

    public override SaslStep Continue(string line)
    {
        if (IsCancel(line))
        {
            return SaslStep.Aborted;
        }

        // "user SP digest", split on single spaces as the reference: the first part is the user, the second the digest.
        string[] parts = DecodeText(line).Split(' ');
        string username = parts[0];
        if (HasControl(username))
        {
            return SaslStep.InvalidUserdata;
        }

        string response = parts.Length > 1 ? parts[1].ToLowerInvariant() : "";
        return SaslStep.Authenticate(new SmtpAuthRequest(SmtpAuthMethods.CramMd5, username, challenge: _challenge, challengeResponse: response));
    }
}
