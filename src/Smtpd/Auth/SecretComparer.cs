using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Smtpd;

/// <summary>Compares secrets in constant time, so that timing does not reveal how much of a guess was right.</summary>
internal static class SecretComparer
{
    /// <summary>
    /// Are the two secrets equal? Both are hashed (SHA-256 of their UTF-16 code units) and the digests compared with
    /// <see cref="CryptographicOperations.FixedTimeEquals"/>, so neither the first differing position nor a length
    /// difference shows in the time taken.
    /// </summary>
    public static bool AreEqual(ReadOnlySpan<char> secret, ReadOnlySpan<char> candidate)
    {
        Span<byte> left = stackalloc byte[32];
        Span<byte> right = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(secret), left);
        SHA256.HashData(MemoryMarshal.AsBytes(candidate), right);
        return CryptographicOperations.FixedTimeEquals(left, right);
    }
}
