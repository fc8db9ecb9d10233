using System.Security.Cryptography;
using System.Text;

namespace Smtpd;

/// <summary>
/// What a server stores for a SCRAM-SHA-256 user (RFC 5802 §3, RFC 7677): the salt, the iteration count, and the
/// keys derived from the password (<c>StoredKey = H(HMAC(SaltedPassword, "Client Key"))</c>,
/// <c>ServerKey = HMAC(SaltedPassword, "Server Key")</c>). The password itself is not needed to verify a client.
/// </summary>
public sealed class ScramSha256Credentials
{
    /// <summary>The iteration count RFC 7677 recommends as a minimum, and the default of <see cref="Derive(string)"/>.</summary>
    public const int DefaultIterations = 4096;

    /// <summary>The length of the random salt <see cref="Derive(string)"/> makes.</summary>
    public const int DefaultSaltLength = 16;

    private const int KeyLength = 32;
    private readonly byte[] _salt;
    private readonly byte[] _storedKey;
    private readonly byte[] _serverKey;

    /// <summary>Creates credentials from stored values (for example read from a user database).</summary>
    /// <param name="salt">The salt; at least one byte.</param>
    /// <param name="iterations">The PBKDF2 iteration count; at least 1 (RFC 7677 recommends 4096 or more).</param>
    /// <param name="storedKey">The 32-byte StoredKey.</param>
    /// <param name="serverKey">The 32-byte ServerKey.</param>
    public ScramSha256Credentials(ReadOnlySpan<byte> salt, int iterations, ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> serverKey)
    {
        if (salt.IsEmpty)
        {
            throw new ArgumentException("The salt must not be empty.", nameof(salt));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (storedKey.Length != KeyLength || serverKey.Length != KeyLength)
        {
            throw new ArgumentException("StoredKey and ServerKey are 32 bytes (SHA-256).", nameof(storedKey));
        }

        _salt = salt.ToArray();
        Iterations = iterations;
        _storedKey = storedKey.ToArray();
        _serverKey = serverKey.ToArray();
    }

    /// <summary>The salt.</summary>
    public ReadOnlyMemory<byte> Salt => _salt;

    /// <summary>The PBKDF2 iteration count.</summary>
    public int Iterations { get; }

    /// <summary>StoredKey: <c>SHA-256(ClientKey)</c>.</summary>
    public ReadOnlyMemory<byte> StoredKey => _storedKey;

    /// <summary>ServerKey: <c>HMAC(SaltedPassword, "Server Key")</c>, which proves the server to the client.</summary>
    public ReadOnlyMemory<byte> ServerKey => _serverKey;

    /// <summary>Derives credentials from a password with a fresh random salt and <see cref="DefaultIterations"/> iterations.</summary>
    /// <param name="password">The password (SASLprep-normalised before use, as clients do).</param>
    public static ScramSha256Credentials Derive(string password)
    {
        Span<byte> salt = stackalloc byte[DefaultSaltLength];
        RandomNumberGenerator.Fill(salt);
        return Derive(password, salt, DefaultIterations);
    }

    /// <summary>Derives credentials from a password, a salt and an iteration count (RFC 5802 §3).</summary>
    /// <param name="password">The password (SASLprep-normalised before use, as clients do).</param>
    /// <param name="salt">The salt; at least one byte.</param>
    /// <param name="iterations">The PBKDF2 iteration count; at least 1.</param>
    public static ScramSha256Credentials Derive(string password, ReadOnlySpan<byte> salt, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (salt.IsEmpty)
        {
            throw new ArgumentException("The salt must not be empty.", nameof(salt));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        byte[] secret = Encoding.UTF8.GetBytes(SaslPrep.Normalize(password));
        Span<byte> salted = stackalloc byte[KeyLength];
        Span<byte> clientKey = stackalloc byte[KeyLength];
        Span<byte> storedKey = stackalloc byte[KeyLength];
        Span<byte> serverKey = stackalloc byte[KeyLength];
        try
        {
            // Hi() of RFC 5802 is PBKDF2 with HMAC-SHA-256 and one block of output.
            Rfc2898DeriveBytes.Pbkdf2(secret, salt, salted, iterations, HashAlgorithmName.SHA256);
            HMACSHA256.HashData(salted, "Client Key"u8, clientKey);
            SHA256.HashData(clientKey, storedKey);
            HMACSHA256.HashData(salted, "Server Key"u8, serverKey);
            return new ScramSha256Credentials(salt, iterations, storedKey, serverKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(salted);
            CryptographicOperations.ZeroMemory(clientKey);
        }
    }
}
