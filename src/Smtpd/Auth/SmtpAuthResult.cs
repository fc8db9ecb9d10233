using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Smtpd;

/// <summary>
/// The answer of the AUTH handler (<see cref="SmtpServerOptions.OnAuth"/>, <see cref="SmtpServer"/>'s <c>OnAuthAsync</c>):
/// <see cref="Success(object)"/> with the application's user object, a <see cref="Failure()"/> (optionally with its own
/// reply), an <see cref="OAuthFailure"/> for the token mechanisms, or, for <c>SCRAM-SHA-256</c>, the stored
/// credentials to verify the client's proof against (<see cref="Scram"/>).
/// </summary>
/// <example>
/// <code>
/// OnAuth = (auth, session, ct) => ValueTask.FromResult(
///     users.TryGetValue(auth.Username, out string? password) &amp;&amp; auth.ValidatePassword(password)
///         ? SmtpAuthResult.Success(auth.Username)
///         : SmtpAuthResult.Failure()),
/// </code>
/// </example>
public sealed class SmtpAuthResult
{
    private static readonly SmtpAuthResult DefaultFailure = new(false, null, 0, null, null, null, null);

    private SmtpAuthResult(bool isSuccess, object? user, int code, string? message, string? enhancedCode, string? oauthError, ScramSha256Credentials? scram)
    {
        IsSuccess = isSuccess;
        User = user;
        Code = code;
        Message = message;
        EnhancedCode = enhancedCode;
        OAuthError = oauthError;
        ScramCredentials = scram;
    }

    /// <summary><see langword="true"/> when the client is authenticated (<c>235</c>).</summary>
    public bool IsSuccess { get; }

    /// <summary>The authenticated user (becomes <see cref="SmtpSession.User"/>); for <see cref="Scram"/> the user once the proof matched.</summary>
    public object? User { get; }

    /// <summary>The reply code of a failure, or 0 for the mechanism's default (<c>535</c>).</summary>
    public int Code { get; }

    /// <summary>The reply text of a failure, or <see langword="null"/> for the default text.</summary>
    public string? Message { get; }

    /// <summary>The enhanced status code of a failure, or <see langword="null"/> to derive it from the code.</summary>
    public string? EnhancedCode { get; }

    /// <summary>XOAUTH2/OAUTHBEARER: the JSON error sent (base64) in the <c>334</c> error challenge before the final <c>535</c>.</summary>
    public string? OAuthError { get; }

    /// <summary>SCRAM-SHA-256: the stored credentials the client's proof is checked against.</summary>
    public ScramSha256Credentials? ScramCredentials { get; }

    /// <summary>For the default handler's XCLIENT answer: no decision, the client stays unauthenticated without an error.</summary>
    internal bool IsUnhandled { get; private init; }

    internal static SmtpAuthResult Unhandled { get; } = new(false, null, 0, null, null, null, null) { IsUnhandled = true };

    /// <summary>Authenticates the client as <paramref name="user"/>: <c>235 Authentication successful</c>.</summary>
    /// <param name="user">Any object that represents the user to the application (a name, an account record); not <see langword="null"/>.</param>
    public static SmtpAuthResult Success(object user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new SmtpAuthResult(true, user, 0, null, null, null, null);
    }

    /// <summary>
    /// Refuses the credentials with the mechanism's default reply: <c>535 Error: Authentication credentials invalid</c>;
    /// for XOAUTH2 the reference's empty error challenge (<c>334 e30=</c>) and then
    /// <c>535 Error: Username and Password not accepted</c>; for OAUTHBEARER the same with <c>{"status":"invalid_token"}</c>.
    /// </summary>
    public static SmtpAuthResult Failure() => DefaultFailure;

    /// <summary>Refuses with a reply of your own, e.g. <c>454 4.7.0 Temporary authentication failure</c>. A 421 also closes the connection.</summary>
    /// <param name="code">A 4xx or 5xx reply code. 5xx failures count towards <see cref="SmtpServerOptions.MaxAuthFailures"/>.</param>
    /// <param name="message">The reply text.</param>
    /// <param name="enhancedCode">An RFC 3463 code of the same class, or <see langword="null"/> to derive one from <paramref name="code"/>.</param>
    public static SmtpAuthResult Failure(int code, string message, string? enhancedCode = null)
    {
        if (code is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "A failure needs a 4xx or 5xx code.");
        }

        ArgumentNullException.ThrowIfNull(message);
        if (enhancedCode is not null && !EnhancedStatusCode.IsValid(enhancedCode, code))
        {
            throw new ArgumentException($"'{enhancedCode}' is not an enhanced status code of class {code / 100}.", nameof(enhancedCode));
        }

        return new SmtpAuthResult(false, null, code, message, enhancedCode, null, null);
    }

    /// <summary>
    /// XOAUTH2/OAUTHBEARER: refuses the token with the JSON error challenge of RFC 7628 §3.2.2 (and Google's XOAUTH2):
    /// <c>334 base64({"status":…,"schemes":…,"scope":…,"openid-configuration":…})</c>; whatever the client answers,
    /// <c>535 Error: Username and Password not accepted</c> follows. Other mechanisms treat it as <see cref="Failure()"/>.
    /// </summary>
    /// <param name="status">The error: an HTTP status such as <c>401</c> (XOAUTH2) or an RFC 6750 code such as <c>invalid_token</c>.</param>
    /// <param name="scope">The OAuth scope needed, if any.</param>
    /// <param name="schemes">The HTTP authentication schemes accepted (XOAUTH2), if any.</param>
    /// <param name="openIdConfiguration">The URL of the OpenID Connect discovery document (OAUTHBEARER), if any.</param>
    public static SmtpAuthResult OAuthFailure(string status, string? scope = null, string? schemes = null, string? openIdConfiguration = null)
    {
        ArgumentNullException.ThrowIfNull(status);
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", status);
            if (schemes is not null)
            {
                json.WriteString("schemes", schemes);
            }

            if (scope is not null)
            {
                json.WriteString("scope", scope);
            }

            if (openIdConfiguration is not null)
            {
                json.WriteString("openid-configuration", openIdConfiguration);
            }

            json.WriteEndObject();
        }

        return new SmtpAuthResult(false, null, 0, null, null, Encoding.UTF8.GetString(buffer.WrittenSpan), null);
    }

    /// <summary>
    /// SCRAM-SHA-256: goes on with the exchange using the user's stored <paramref name="credentials"/> (salt, iteration
    /// count and keys); the client is authenticated as <paramref name="user"/> only if its proof matches them. An unknown
    /// user is best answered with credentials that cannot match (see <see cref="SmtpPasswordAuthenticator"/>), so that the
    /// exchange does not reveal which users exist.
    /// </summary>
    /// <param name="credentials">The stored credentials, e.g. from <see cref="ScramSha256Credentials.Derive(string, ReadOnlySpan{byte}, int)"/>.</param>
    /// <param name="user">The user object once the proof matched; not <see langword="null"/>.</param>
    public static SmtpAuthResult Scram(ScramSha256Credentials credentials, object user)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(user);
        return new SmtpAuthResult(false, user, 0, null, null, null, credentials);
    }

    /// <inheritdoc/>
    public override string ToString() => IsSuccess ? "success"
        : ScramCredentials is not null ? "scram credentials"
        : OAuthError is not null ? "oauth failure " + OAuthError
        : Code == 0 ? "failure" : $"failure {Code} {EnhancedCode} {Message}";
}
