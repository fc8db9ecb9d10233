using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Smtpd;

/// <summary>
/// One authentication attempt, handed to the AUTH handler (<see cref="SmtpServerOptions.OnAuth"/>, <see cref="SmtpServer"/>'s
/// <c>OnAuthAsync</c>): the mechanism, the user name and whatever secret the mechanism carries. Check a secret with
/// <see cref="ValidatePassword(string)"/>, which compares in constant time and also answers CRAM-MD5.
/// </summary>
/// <remarks>
/// What is set per <see cref="Method"/>: <c>PLAIN</c>, <c>LOGIN</c>: <see cref="Password"/> (PLAIN also
/// <see cref="AuthorizationIdentity"/>); <c>CRAM-MD5</c>: <see cref="Challenge"/> and <see cref="ChallengeResponse"/>;
/// <c>XOAUTH2</c>, <c>OAUTHBEARER</c>: <see cref="AccessToken"/> (OAUTHBEARER's user name is its authorization identity);
/// <c>SCRAM-SHA-256</c>: only the user name and authorization identity; answer with
/// <see cref="SmtpAuthResult.Scram"/> and the server verifies the proof; <c>XCLIENT</c>: only the user name, vouched for by
/// a trusted proxy. Never log the secrets.
/// </remarks>
public sealed class SmtpAuthRequest
{
    internal SmtpAuthRequest(string method, string username, string? password = null, string? accessToken = null,
        string? authorizationIdentity = null, string? challenge = null, string? challengeResponse = null)
    {
        Method = method;
        Username = username;
        Password = password;
        AccessToken = accessToken;
        AuthorizationIdentity = string.IsNullOrEmpty(authorizationIdentity) ? null : authorizationIdentity;
        Challenge = challenge;
        ChallengeResponse = challengeResponse;
    }

    /// <summary>The mechanism, upper-case: one of <see cref="SmtpAuthMethods"/>.</summary>
    public string Method { get; }

    /// <summary>
    /// The user name (authentication identity). For PLAIN with an empty authentication identity it is the authorization
    /// identity, as the reference does for clients that put the user there. May be empty for OAUTHBEARER without <c>a=</c>.
    /// </summary>
    public string Username { get; }

    /// <summary>PLAIN, LOGIN: the password the client sent; otherwise <see langword="null"/>.</summary>
    public string? Password { get; }

    /// <summary>XOAUTH2, OAUTHBEARER: the bearer token the client sent; otherwise <see langword="null"/>.</summary>
    public string? AccessToken { get; }

    /// <summary>The identity the client asks to act as (PLAIN's authzid, the <c>a=</c> of OAUTHBEARER and SCRAM), or <see langword="null"/> when it gave none.</summary>
    public string? AuthorizationIdentity { get; }

    /// <summary>CRAM-MD5: the challenge the server sent (<c>&lt;hex.time@name&gt;</c>); otherwise <see langword="null"/>.</summary>
    public string? Challenge { get; }

    /// <summary>CRAM-MD5: the client's answer, the lower-case hexadecimal HMAC-MD5 of <see cref="Challenge"/> keyed with the password; otherwise <see langword="null"/>.</summary>
    public string? ChallengeResponse { get; }

    /// <summary>
    /// Does the client's secret match <paramref name="candidate"/>, the password (or token) the application has for
    /// <see cref="Username"/>? PLAIN and LOGIN compare the password, XOAUTH2 and OAUTHBEARER the access token, CRAM-MD5
    /// checks the challenge response; always in constant time. XCLIENT carries no secret: <see langword="false"/>.
    /// </summary>
    /// <param name="candidate">The expected password or token.</param>
    /// <exception cref="InvalidOperationException">The method is SCRAM-SHA-256, which is answered with <see cref="SmtpAuthResult.Scram"/>.</exception>
    public bool ValidatePassword(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (Method == SmtpAuthMethods.ScramSha256)
        {
            throw new InvalidOperationException("SCRAM-SHA-256 proves the password to the server itself: answer with SmtpAuthResult.Scram(credentials, user).");
        }

        if (Method == SmtpAuthMethods.CramMd5)
        {
            return Challenge is not null && ChallengeResponse is not null && SecretComparer.AreEqual(CramMd5Digest(candidate, Challenge), ChallengeResponse);
        }

        return (Password ?? AccessToken) is { } secret && SecretComparer.AreEqual(secret, candidate);
    }

    /// <summary>The lower-case hexadecimal HMAC-MD5 of <paramref name="challenge"/> keyed with <paramref name="password"/> (RFC 2195).</summary>
    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms", Justification = "CRAM-MD5 (RFC 2195) is defined with HMAC-MD5.")]
    internal static string CramMd5Digest(string password, string challenge)
    {
        byte[] key = Encoding.UTF8.GetBytes(password);
        Span<byte> digest = stackalloc byte[HMACMD5.HashSizeInBytes];
        HMACMD5.HashData(key, Encoding.UTF8.GetBytes(challenge), digest);
        CryptographicOperations.ZeroMemory(key);
        return Convert.ToHexStringLower(digest);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Method} {Username}";
}
