using System.Security.Cryptography;
using System.Text;

namespace Smtpd;

/// <summary>
/// Serves every mechanism from a user name → password map, as an AUTH handler: PLAIN, LOGIN and CRAM-MD5 check the
/// password; XOAUTH2 and OAUTHBEARER take the password as the access token (a refused token gets the error JSON with a
/// <c>status</c>: Google's <c>401</c> for XOAUTH2, <c>invalid_token</c> for OAUTHBEARER); SCRAM-SHA-256 derives the user's salted
/// credentials from the password (4096 iterations, a random salt per user, computed for every user at the first SCRAM request); <c>XCLIENT LOGIN=</c> accepts
/// a listed name. Secrets are compared in constant time; an unknown user costs about as much as a wrong password and,
/// for SCRAM, gets a stable decoy salt, so the replies do not tell which users exist. The authenticated user object is
/// the user name as listed. A client may not ask to act as someone else (an authorization identity other than its own
/// user name is refused).
/// </summary>
/// <example>
/// <code>
/// var users = new SmtpPasswordAuthenticator(new Dictionary&lt;string, string&gt; { ["alice"] = "secret" });
/// var options = new SmtpServerOptions { OnAuth = users.AuthenticateAsync, AuthMethods = ["PLAIN", "LOGIN", "SCRAM-SHA-256"] };
/// </code>
/// </example>
public sealed class SmtpPasswordAuthenticator
{
    private readonly Dictionary<string, User> _users;
    private readonly Lazy<Dictionary<string, ScramSha256Credentials>> _scram;
    private readonly byte[] _decoyKey = RandomNumberGenerator.GetBytes(32);
    private readonly string _decoyPassword = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

    /// <summary>Creates the authenticator from user names and their passwords (copied).</summary>
    /// <param name="users">User name → password. Names must be unique under <paramref name="userNameComparer"/>.</param>
    /// <param name="userNameComparer">How user names compare; default ordinal (case-sensitive).</param>
    public SmtpPasswordAuthenticator(IEnumerable<KeyValuePair<string, string>> users, IEqualityComparer<string>? userNameComparer = null)
    {
        ArgumentNullException.ThrowIfNull(users);
        IEqualityComparer<string> comparer = userNameComparer ?? StringComparer.Ordinal;
        _users = new Dictionary<string, User>(comparer);
        foreach (KeyValuePair<string, string> user in users)
        {
            ArgumentNullException.ThrowIfNull(user.Key, nameof(users));
            if (user.Value is null)
            {
                throw new ArgumentException($"The password of '{user.Key}' is null.", nameof(users));
            }

            if (!_users.TryAdd(user.Key, new User(user.Key, user.Value)))
            {
                throw new ArgumentException($"The user name '{user.Key}' is listed twice.", nameof(users));
            }
        }

        // Every user's SCRAM credentials are derived together, at the first SCRAM request whoever it names: deriving one
        // user's on its first request would make that first request slower for a user who exists than for one who does not.
        _scram = new Lazy<Dictionary<string, ScramSha256Credentials>>(
            () => _users.Values.ToDictionary(u => u.Name, u => ScramSha256Credentials.Derive(u.Password), comparer), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The number of users.</summary>
    public int Count => _users.Count;

    /// <summary>Is <paramref name="username"/> listed?</summary>
    /// <param name="username">The user name.</param>
    public bool Contains(string username) => username is not null && _users.ContainsKey(username);

    /// <summary>An AUTH handler (<see cref="SmtpServerOptions.OnAuth"/>): <see cref="Authenticate(SmtpAuthRequest)"/>, which does no I/O.</summary>
    /// <param name="request">The attempt.</param>
    /// <param name="session">The session (not used).</param>
    /// <param name="cancellationToken">Not used.</param>
    public ValueTask<SmtpAuthResult> AuthenticateAsync(SmtpAuthRequest request, SmtpSession session, CancellationToken cancellationToken) =>
        new(Authenticate(request));

    /// <summary>Checks one attempt against the map.</summary>
    /// <param name="request">The attempt.</param>
    /// <returns>Success with the listed user name; for SCRAM-SHA-256 the credentials to verify the proof against; otherwise a failure.</returns>
    public SmtpAuthResult Authenticate(SmtpAuthRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        bool known = _users.TryGetValue(request.Username, out User user);
        string name = known ? user.Name : request.Username;
        bool ownIdentity = request.AuthorizationIdentity is null || _users.Comparer.Equals(request.AuthorizationIdentity, request.Username);
        switch (request.Method)
        {
            case SmtpAuthMethods.XClient:
                return known ? SmtpAuthResult.Success(name) : SmtpAuthResult.Failure();
            case SmtpAuthMethods.ScramSha256:
                if (!ownIdentity)
                {
                    return SmtpAuthResult.Failure();
                }

                Dictionary<string, ScramSha256Credentials> scram = _scram.Value;
                return SmtpAuthResult.Scram(known ? scram[name] : Decoy(name), name);
            default:
                // An unknown user is checked against a random password, so both refusals take the same work.
                bool valid = request.ValidatePassword(known ? user.Password : _decoyPassword);
                return known && valid && ownIdentity ? SmtpAuthResult.Success(name) : Refusal(request.Method);
        }
    }

    /// <summary>A refusal in the form clients of the mechanism expect: the token mechanisms' error JSON carries a status.</summary>
    private static SmtpAuthResult Refusal(string method) => method switch
    {
        SmtpAuthMethods.XOAuth2 => XOAuth2Refusal,
        SmtpAuthMethods.OAuthBearer => OAuthBearerRefusal,
        _ => SmtpAuthResult.Failure(),
    };

    /// <summary>Google's error for a refused XOAUTH2 token.</summary>
    private static readonly SmtpAuthResult XOAuth2Refusal = SmtpAuthResult.OAuthFailure("401", "https://mail.google.com/", "bearer");

    /// <summary>RFC 7628 §3.2.2 with RFC 6750's error code for a refused bearer token.</summary>
    private static readonly SmtpAuthResult OAuthBearerRefusal = SmtpAuthResult.OAuthFailure("invalid_token");

    /// <summary>Credentials that never match, with a salt that is stable per user name (a fresh one each time would give unknown users away).</summary>
    private ScramSha256Credentials Decoy(string username)
    {
        byte[] digest = HMACSHA256.HashData(_decoyKey, Encoding.UTF8.GetBytes(username));
        return new ScramSha256Credentials(digest.AsSpan(0, ScramSha256Credentials.DefaultSaltLength), ScramSha256Credentials.DefaultIterations,
            RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));
    }

    private readonly record struct User(string Name, string Password);
}
