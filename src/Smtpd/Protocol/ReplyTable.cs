namespace Smtpd;

/// <summary>
/// Every fixed reply of the server, encoded once per server with or without enhanced codes, so the hot paths
/// write bytes and never format text.
/// </summary>
internal sealed class ReplyTable
{
    public ReplyTable(SmtpServerOptions options)
    {
        Enhanced = !options.HideEnhancedStatusCodes;
        string name = options.Name;
        string protocol = options.Lmtp ? "LMTP" : "ESMTP";
        Greeting = ReplyWriter.Encode(220, null, string.IsNullOrEmpty(options.Banner) ? $"{name} {protocol}" : $"{name} {protocol} {options.Banner}");
        Ok = E(250, "2.0.0", "OK");
        Flushed = E(250, "2.0.0", "Flushed");
        Bye = E(221, "2.0.0", "Bye");
        Help = E(214, "2.0.0", "See https://tools.ietf.org/html/rfc5321 for details");
        Vrfy = E(252, "2.1.5", "Try to send something. No promises though");
        VrfySyntax = E(501, "5.5.4", "Error: Syntax: VRFY address");
        Unrecognized = E(500, "5.5.2", "Error: command not recognized");
        UnrecognizedPlain = ReplyWriter.Encode(500, null, "Error: command not recognized");
        TooManyUnrecognized = E(421, "4.4.2", "Error: too many unrecognized commands");
        TooManyUnrecognizedPlain = ReplyWriter.Encode(421, null, "Error: too many unrecognized commands");
        TooManyUnauthenticated = E(421, "4.4.2", "Error: too many unauthenticated commands");
        TooManyUnauthenticatedPlain = ReplyWriter.Encode(421, null, "Error: too many unauthenticated commands");
        SendHeloFirst = E(503, "5.5.1", options.Lmtp ? "Error: send LHLO first" : "Error: send HELO/EHLO first");
        TalkTooSoon = E(421, "4.4.2", $"{name} You talk too soon");
        TalkTooSoonPlain = ReplyWriter.Encode(421, null, $"{name} You talk too soon");
        HttpRefused = E(421, "4.4.2", "HTTP requests not allowed");
        ShuttingDown = E(421, "4.4.2", "Server shutting down");
        ShuttingDownPlain = ReplyWriter.Encode(421, null, "Server shutting down");
        Timeout = E(421, "4.4.2", "Timeout - closing connection");
        LineTooLong = E(421, "4.4.2", "Error: Command line too long");
        TooManyClients = ReplyWriter.Encode(421, null, $"{name} Too many connected clients, try again in a moment");
        HeloNotAllowed = ReplyWriter.Encode(500, null, "Error: HELO not allowed in LMTP server");
        EhloNotAllowed = ReplyWriter.Encode(500, null, "Error: EHLO not allowed in LMTP server");
        HeloSyntax = ReplyWriter.Encode(501, null, "Error: Syntax: HELO hostname");
        EhloSyntax = ReplyWriter.Encode(501, null, "Error: syntax: EHLO hostname");
        LhloSyntax = ReplyWriter.Encode(501, null, "Error: syntax: LHLO hostname");
        BadHostname = ReplyWriter.Encode(501, null, "Error: Bad hostname syntax");
        MailAccepted = E(250, "2.1.0", "Accepted");
        RcptAccepted = E(250, "2.1.5", "Accepted");
        BadSender = E(501, "5.1.7", "Error: Bad sender address syntax");
        BadRecipient = E(501, "5.1.3", "Error: Bad recipient address syntax");
        NestedMail = E(503, "5.5.1", "Error: nested MAIL command");
        NeedMail = E(503, "5.5.1", "Error: need MAIL command");
        NeedRcpt = E(503, "5.5.1", "Error: need RCPT command");
        BadSizeSyntax = E(501, "5.5.4", "Error: Bad message size syntax");
        MessageTooBig = E(552, "5.3.4", $"Error: message exceeds fixed maximum message size {options.Size}");
        BadBody = E(501, "5.5.4", "Invalid BODY parameter value. Must be 7BIT or 8BITMIME");
        BadBodyWithBinary = E(501, "5.5.4", "Invalid BODY parameter value. Must be 7BIT, 8BITMIME or BINARYMIME");
        BinaryMimeNeedsBdat = E(503, "5.5.1", "Error: BODY=BINARYMIME requires BDAT");
        BdatSyntax = E(501, "5.5.4", "Error: Syntax: BDAT chunk-size [LAST]");
        TooManyTransactions = E(421, "4.7.0", "Error: too many transactions on this connection");
        BadSmtpUtf8 = E(501, "5.5.4", "Invalid SMTPUTF8 parameter. This flag does not accept a value");
        RequireTlsNotPermitted = E(530, "5.7.0", "REQUIRETLS not permitted on non-TLS connections");
        BadRequireTls = E(501, "5.5.4", "Invalid REQUIRETLS parameter. This flag does not accept a value");
        BadRet = E(501, "5.5.4", "Invalid RET parameter value. Must be FULL or HDRS");
        BadNotify = E(501, "5.5.4", "Error: NOTIFY parameter must be NEVER, SUCCESS, FAILURE, or DELAY");
        NotifyNeverCombined = E(501, "5.5.4", "Error: NOTIFY=NEVER cannot be combined with other values");
        BadOrcpt = E(501, "5.5.4", "Error: Bad ORCPT parameter syntax");
        TooManyRecipients = E(452, "4.5.3", "Error: too many recipients");
        StartData = ReplyWriter.Encode(354, null, "End data with <CR><LF>.<CR><LF>");
        MessageQueued = E(250, "2.6.0", "OK: message queued");
        MessageAccepted = E(250, "2.6.0", "OK: message accepted");
        InternalError = E(451, "4.3.0", "Error: internal server error");
        NoWizard = E(500, "5.5.2", "You are no wizard!");
        Wizard = E(200, "2.0.0", "Please pass, oh mighty wizard");
        MereMortals = E(500, "5.5.2", "Mere mortals must not mutter that mantra");
        ShellRefused = E(500, "5.5.2", "Error: Invoking shell is not allowed. This incident will be reported.");
        CannotKill = E(500, "5.5.2", "Can not kill Mom");
    }

    /// <summary>Whether replies carry enhanced codes.</summary>
    public bool Enhanced { get; }

    public byte[] Greeting { get; }
    public byte[] Ok { get; }
    public byte[] Flushed { get; }
    public byte[] Bye { get; }
    public byte[] Help { get; }
    public byte[] Vrfy { get; }
    public byte[] VrfySyntax { get; }
    public byte[] Unrecognized { get; }
    public byte[] UnrecognizedPlain { get; }
    public byte[] TooManyUnrecognized { get; }
    public byte[] TooManyUnrecognizedPlain { get; }
    public byte[] TooManyUnauthenticated { get; }
    public byte[] TooManyUnauthenticatedPlain { get; }
    public byte[] SendHeloFirst { get; }
    public byte[] TalkTooSoon { get; }
    public byte[] TalkTooSoonPlain { get; }
    public byte[] HttpRefused { get; }
    public byte[] ShuttingDown { get; }
    public byte[] ShuttingDownPlain { get; }
    public byte[] Timeout { get; }
    public byte[] LineTooLong { get; }
    public byte[] TooManyClients { get; }
    public byte[] HeloNotAllowed { get; }
    public byte[] EhloNotAllowed { get; }
    public byte[] HeloSyntax { get; }
    public byte[] EhloSyntax { get; }
    public byte[] LhloSyntax { get; }
    public byte[] BadHostname { get; }
    public byte[] MailAccepted { get; }
    public byte[] RcptAccepted { get; }
    public byte[] BadSender { get; }
    public byte[] BadRecipient { get; }
    public byte[] NestedMail { get; }
    public byte[] NeedMail { get; }
    public byte[] NeedRcpt { get; }
    public byte[] BadSizeSyntax { get; }
    public byte[] MessageTooBig { get; }
    public byte[] BadBody { get; }
    public byte[] BadBodyWithBinary { get; }
    public byte[] BinaryMimeNeedsBdat { get; }
    public byte[] BdatSyntax { get; }
    public byte[] TooManyTransactions { get; }
    public byte[] BadSmtpUtf8 { get; }
    public byte[] RequireTlsNotPermitted { get; }
    public byte[] BadRequireTls { get; }
    public byte[] BadRet { get; }
    public byte[] BadNotify { get; }
    public byte[] NotifyNeverCombined { get; }
    public byte[] BadOrcpt { get; }
    public byte[] TooManyRecipients { get; }
    public byte[] StartData { get; }
    public byte[] MessageQueued { get; }
    public byte[] MessageAccepted { get; }
    public byte[] InternalError { get; }
    public byte[] NoWizard { get; }
    public byte[] Wizard { get; }
    public byte[] MereMortals { get; }
    public byte[] ShellRefused { get; }
    public byte[] CannotKill { get; }

    /// <summary>Encodes a reply that carries <paramref name="enhanced"/> when enhanced codes are on.</summary>
    public byte[] E(int code, string enhanced, string text) => ReplyWriter.Encode(code, Enhanced ? enhanced : null, text);

    /// <summary>The enhanced code to write for a handler's reply, or <see langword="null"/> when enhanced codes are off.</summary>
    public string? EnhancedFor(int code, string? explicitCode) => Enhanced ? explicitCode ?? EnhancedStatusCode.ForCode(code) : null;
}
