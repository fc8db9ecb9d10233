namespace Smtpd;

/// <summary>What a SASL mechanism asks the connection to do next.</summary>
internal enum SaslStepKind : byte
{
    /// <summary>Send <c>334 </c> and <see cref="SaslStep.Text"/>, then wait for the client's next line.</summary>
    Challenge,

    /// <summary>Ask the application (the AUTH handler) about <see cref="SaslStep.Request"/>, then give its answer to the mechanism.</summary>
    Authenticate,

    /// <summary>The client is authenticated as <see cref="SaslStep.User"/>.</summary>
    Succeeded,

    /// <summary>The credentials were refused: <see cref="SaslStep.Code"/>, <see cref="SaslStep.EnhancedCode"/>, <see cref="SaslStep.Text"/>.</summary>
    Failed,

    /// <summary>The client cancelled with <c>*</c>: <c>501 Authentication aborted</c>.</summary>
    Aborted,

    /// <summary>The client's data cannot be used: <c>501 Error: invalid userdata</c>.</summary>
    InvalidUserdata,

    /// <summary>LOGIN got an empty user name: <c>501 Error: missing username</c>.</summary>
    MissingUsername,

    /// <summary>The application's answer does not fit the mechanism (logged): <c>451 Error: internal server error</c>.</summary>
    HandlerMisuse,
}

/// <summary>One step of a SASL exchange, produced synchronously by a <see cref="SaslServerMechanism"/>.</summary>
internal readonly struct SaslStep
{
    private SaslStep(SaslStepKind kind, string? text = null, SmtpAuthRequest? request = null, object? user = null, int code = 0, string? enhancedCode = null)
    {
        Kind = kind;
        Text = text;
        Request = request;
        User = user;
        Code = code;
        EnhancedCode = enhancedCode;
    }

    public SaslStepKind Kind { get; }

    /// <summary>The challenge (after <c>334 </c>) or the failure text.</summary>
    public string? Text { get; }

    public SmtpAuthRequest? Request { get; }

    public object? User { get; }

    public int Code { get; }

    public string? EnhancedCode { get; }

    public static SaslStep Aborted => new(SaslStepKind.Aborted);

    public static SaslStep InvalidUserdata => new(SaslStepKind.InvalidUserdata);

    public static SaslStep MissingUsername => new(SaslStepKind.MissingUsername);

    public static SaslStep HandlerMisuse(string problem) => new(SaslStepKind.HandlerMisuse, problem);

    public static SaslStep Challenge(string text) => new(SaslStepKind.Challenge, text);

    public static SaslStep Authenticate(SmtpAuthRequest request) => new(SaslStepKind.Authenticate, request: request);

    public static SaslStep Succeeded(object user) => new(SaslStepKind.Succeeded, user: user);

    public static SaslStep Failed(int code, string text, string? enhancedCode = null) => new(SaslStepKind.Failed, text, code: code, enhancedCode: enhancedCode);
}
