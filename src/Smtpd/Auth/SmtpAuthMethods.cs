namespace Smtpd;

/// <summary>
/// The names of the SASL mechanisms Smtpd implements, as they appear on the wire, in
/// <see cref="SmtpServerOptions.AuthMethods"/> and in <see cref="SmtpAuthRequest.Method"/>.
/// </summary>
public static class SmtpAuthMethods
{
    /// <summary><c>PLAIN</c> (RFC 4616): authorization identity, user name and password in one message.</summary>
    public const string Plain = "PLAIN";

    /// <summary><c>LOGIN</c>: user name and password in two steps (the de-facto mechanism of many clients).</summary>
    public const string Login = "LOGIN";

    /// <summary><c>CRAM-MD5</c> (RFC 2195): an HMAC-MD5 answer to a server challenge; the password never crosses the wire.</summary>
    public const string CramMd5 = "CRAM-MD5";

    /// <summary><c>XOAUTH2</c> (Google, Microsoft): a user name and an OAuth 2.0 bearer token.</summary>
    public const string XOAuth2 = "XOAUTH2";

    /// <summary><c>OAUTHBEARER</c> (RFC 7628): an OAuth 2.0 bearer token with an optional authorization identity.</summary>
    public const string OAuthBearer = "OAUTHBEARER";

    /// <summary><c>SCRAM-SHA-256</c> (RFC 7677): a salted challenge-response; the server stores no password, only derived keys.</summary>
    public const string ScramSha256 = "SCRAM-SHA-256";

    /// <summary>
    /// Not a SASL mechanism: the method of the request made for <c>XCLIENT LOGIN=name</c> from a trusted proxy
    /// (no secret: <see cref="SmtpAuthRequest.Password"/> is <see langword="null"/>).
    /// </summary>
    public const string XClient = "XCLIENT";
}
