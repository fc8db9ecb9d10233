using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Interop;

/// <summary>
/// The <c>main.cf</c> lines that make Postfix's SMTP client (<c>smtp_</c>) or LMTP client (<c>lmtp_</c>) reach Smtpd
/// as a matrix cell says: TLS level <c>secure</c> against the test CA (name <c>localhost</c>) for STARTTLS, with
/// <c>wrappermode</c> for implicit TLS; Cyrus SASL with a static password for AUTH.
/// </summary>
public static class PostfixClientSettings
{
    /// <summary>The files the settings name (written into the instance's folder).</summary>
    public static IReadOnlyDictionary<string, string> Files => new Dictionary<string, string> { ["ca.crt"] = TestPki.CertificatePem(TestPki.Shared.Ca) };

    public static IEnumerable<string> For(string client, InteropTransport transport, bool auth)
    {
        if (transport != InteropTransport.Plain)
        {
            yield return $"{client}_tls_security_level = secure";
            yield return $"{client}_tls_secure_cert_match = localhost";
            yield return $"{client}_tls_CAfile = ${{queue_directory}}/../ca.crt";
            yield return $"{client}_tls_loglevel = 1";
        }

        if (transport == InteropTransport.ImplicitTls)
        {
            yield return $"{client}_tls_wrappermode = yes";
        }

        if (auth)
        {
            yield return $"{client}_sasl_auth_enable = yes";
            yield return $"{client}_sasl_password_maps = static:{InteropServer.User}:{InteropServer.Password}";
            yield return $"{client}_sasl_security_options = noanonymous";
            yield return $"{client}_sasl_tls_security_options = noanonymous";
        }
    }

    /// <summary>In a TLS cell, Postfix's log must show the certificate verified (the <c>secure</c> level refuses otherwise, this says it was TLS at all).</summary>
    public static void AssertVerified(PostfixInstance postfix, InteropTransport transport)
    {
        if (transport != InteropTransport.Plain)
        {
            string log = postfix.Log;
            Assert.True(log.Contains("Verified TLS connection established to", StringComparison.Ordinal), log);
        }
    }
}
