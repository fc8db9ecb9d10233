namespace Smtpd;

/// <summary>The commands the engine knows. The order is the index into per-command tables.</summary>
internal enum SmtpCommand : byte
{
    Unknown,
    Helo,
    Ehlo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    StartTls,
    Auth,
    XClient,
    XForward,
    Wiz,
    Shell,
    Kill,
    Bdat,
}
