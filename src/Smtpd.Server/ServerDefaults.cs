namespace Smtpd.Server;

/// <summary>
/// Where the program's defaults differ from the library's (docs/server.md, "Defences"): an Internet-facing server gets
/// limits the library leaves to the application, and the inline scheduling its handlers allow. Applied before the settings, so any setting replaces them; an explicit
/// <c>0</c> means no limit. <c>--help</c> shows these defaults.
/// </summary>
internal static class ServerDefaults
{
    /// <summary><c>size</c>: 25 MiB, the common limit of large mail providers (a message of that size is about 18 MiB of attachments).</summary>
    public const long Size = 25 * 1024 * 1024;

    /// <summary><c>maxRecipients</c>: 1,000, Postfix's <c>smtpd_recipient_limit</c>.</summary>
    public const int MaxRecipients = 1000;

    /// <summary>
    /// <c>bareLineEndings</c>: <see cref="SmtpBareLineEndings.Normalize"/>, as Postfix's default since 3.9. The stored
    /// message then has one reading for every program that processes it later (no smuggling through a relay that treats
    /// a bare LF or CR as a line ending), and the mail of sloppy senders (scripts writing bare LF) still arrives, which
    /// <see cref="SmtpBareLineEndings.Reject"/> would bounce.
    /// </summary>
    public const SmtpBareLineEndings BareLineEndings = SmtpBareLineEndings.Normalize;

    /// <summary>
    /// <c>unsafePreferInlineScheduling</c>: on, because every handler of the program is asynchronous (the folder store's
    /// blocking file work runs on the thread pool, the JetStream client is asynchronous).
    /// </summary>
    public const bool UnsafePreferInlineScheduling = true;

    /// <summary>Sets the program's defaults on <paramref name="options"/>.</summary>
    /// <param name="options">Options holding the library's defaults.</param>
    public static void Apply(SmtpServerOptions options)
    {
        options.Size = Size;
        options.MaxRecipients = MaxRecipients;
        options.BareLineEndings = BareLineEndings;
        options.UnsafePreferInlineScheduling = UnsafePreferInlineScheduling;
    }
}
