namespace Smtpd.Hosting;

/// <summary>
/// One server registered by <c>AddSmtpServer</c>: its name (empty for the unnamed server) and type. Held in the
/// service collection so that a second registration under the same name is refused, and so that the health check
/// finds every server.
/// </summary>
/// <param name="Name">The name (the key of its keyed services and named options).</param>
/// <param name="ServerType">The <see cref="SmtpServer"/> type.</param>
internal sealed record SmtpServerRegistration(string Name, Type ServerType)
{
    /// <summary>How the server is named in messages: <c>'mx'</c>, or the type's name for the unnamed server.</summary>
    public string DisplayName => Name.Length == 0 ? ServerType.Name : $"'{Name}'";
}
