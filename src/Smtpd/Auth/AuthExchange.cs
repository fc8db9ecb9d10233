namespace Smtpd;

/// <summary>
/// The AUTH state of a connection: the exchange in progress (one mechanism at a time) and the refusals so far. Refusals
/// count per attempt: a refusal for the user name of the refusal before, with a mechanism not yet tried for it and a
/// secret that matches wherever two can be compared, is the same attempt tried over another mechanism (MailKit tries
/// each advertised mechanism in turn with one password) and does not count again.
/// </summary>
internal sealed class AuthExchange
{
    private string? _attemptUser;
    private int _attemptMechanisms;
    private SmtpAuthRequest? _attemptSecret;

    /// <summary>The mechanism of the exchange in progress, or <see langword="null"/>.</summary>
    public SaslServerMechanism? Mechanism { get; set; }

    /// <summary>What the client asked for in this exchange (for the log and the metric).</summary>
    public SmtpAuthRequest? Request { get; set; }

    /// <summary>Refused attempts with a 5xx code on this connection.</summary>
    public int Failures { get; private set; }

    /// <summary>An exchange waits for the client's next line: the dispatcher hands every line to <see cref="AuthCommand.Continue"/>.</summary>
    public bool IsWaitingForClient => Mechanism is not null;

    /// <summary>Ends the exchange in progress; returns what the client asked for in it, if it got that far.</summary>
    public SmtpAuthRequest? End()
    {
        SmtpAuthRequest? request = Request;
        Mechanism = null;
        Request = null;
        return request;
    }

    /// <summary>Notes a 5xx refusal of <paramref name="request"/>; <see langword="true"/> when it is a new attempt (counted).</summary>
    public bool CountFailure(SmtpAuthRequest? request)
    {
        int mechanism = request is null ? 0 : 1 << (Array.IndexOf(Mechanisms, request.Method) + 1);
        if (request is not null && _attemptUser is not null && string.Equals(request.Username, _attemptUser, StringComparison.Ordinal)
            && (_attemptMechanisms & mechanism) == 0 && (_attemptSecret is null || SameSecret(_attemptSecret, request)))
        {
            _attemptMechanisms |= mechanism;
            _attemptSecret ??= HasComparableSecret(request) ? request : null;
            return false;
        }

        _attemptUser = request?.Username;
        _attemptMechanisms = mechanism;
        _attemptSecret = request is not null && HasComparableSecret(request) ? request : null;
        Failures++;
        return true;
    }

    /// <summary>After a success nothing of the earlier attempts is kept.</summary>
    public void ClearAttempt()
    {
        _attemptUser = null;
        _attemptMechanisms = 0;
        _attemptSecret = null;
    }

    private static readonly string[] Mechanisms =
        [SmtpAuthMethods.Plain, SmtpAuthMethods.Login, SmtpAuthMethods.CramMd5, SmtpAuthMethods.XOAuth2, SmtpAuthMethods.OAuthBearer, SmtpAuthMethods.ScramSha256];

    /// <summary>A plaintext secret (password or token), or a CRAM-MD5 answer a plaintext one can be checked against; SCRAM's proof compares with nothing.</summary>
    private static bool HasComparableSecret(SmtpAuthRequest request) =>
        request.Password is not null || request.AccessToken is not null || request.Method == SmtpAuthMethods.CramMd5;

    /// <summary>Could <paramref name="earlier"/> and <paramref name="later"/> carry the same secret? Two CRAM-MD5 answers, or anything with SCRAM, cannot be told apart.</summary>
    private static bool SameSecret(SmtpAuthRequest earlier, SmtpAuthRequest later)
    {
        string? a = earlier.Password ?? earlier.AccessToken;
        string? b = later.Password ?? later.AccessToken;
        return (a, b) switch
        {
            ({ } x, { } y) => SecretComparer.AreEqual(x, y),
            ({ } x, null) when later.Method == SmtpAuthMethods.CramMd5 => later.ValidatePassword(x),
            (null, { } y) when earlier.Method == SmtpAuthMethods.CramMd5 => earlier.ValidatePassword(y),
            _ => true,
        };
    }
}
