using System.Security.Cryptography;
using System.Text;

namespace Smtpd.Tests.Auth;

/// <summary>The client side of SCRAM-SHA-256 (RFC 5802), written from the RFC, to drive the server byte by byte.</summary>
internal sealed class ScramClient(string username, string password, string gs2Header = "n,,")
{
    public string ClientNonce { get; init; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    public string ClientFirstBare => $"n={username},r={ClientNonce}";

    public string ClientFirst => gs2Header + ClientFirstBare;

    /// <summary>The server signature the server must send (<c>v=…</c>) for the last <see cref="ClientFinal"/>.</summary>
    public string? ExpectedServerFinal { get; private set; }

    /// <summary>Builds the client-final message for <paramref name="serverFirst"/>; the tamper switches break one part.</summary>
    public string ClientFinal(string serverFirst, bool tamperProof = false, string? nonce = null, string? channelBinding = null)
    {
        Dictionary<char, string> attributes = serverFirst.Split(',').ToDictionary(a => a[0], a => a[2..]);
        byte[] salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(attributes['s']),
            int.Parse(attributes['i']), HashAlgorithmName.SHA256, 32);
        byte[] clientKey = HMACSHA256.HashData(salted, "Client Key"u8.ToArray());
        byte[] storedKey = SHA256.HashData(clientKey);
        string withoutProof = $"c={channelBinding ?? Convert.ToBase64String(Encoding.UTF8.GetBytes(gs2Header))},r={nonce ?? attributes['r']}";
        byte[] authMessage = Encoding.UTF8.GetBytes($"{ClientFirstBare},{serverFirst},{withoutProof}");
        byte[] signature = HMACSHA256.HashData(storedKey, authMessage);
        byte[] proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
        if (tamperProof)
        {
            proof[0] ^= 1;
        }

        ExpectedServerFinal = "v=" + Convert.ToBase64String(HMACSHA256.HashData(HMACSHA256.HashData(salted, "Server Key"u8.ToArray()), authMessage));
        return $"{withoutProof},p={Convert.ToBase64String(proof)}";
    }
}
