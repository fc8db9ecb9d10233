using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Smtpd.Tests.Tls;

namespace Smtpd.Tests.Interop;

/// <summary>Server certificate checks for the .NET clients of the matrix: the chain must end at the test CA and the name must match.</summary>
public static class InteropTls
{
    public static bool ValidateWithTestCa(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(TestPki.Shared.Ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }
}
