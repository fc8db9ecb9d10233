using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Smtpd;

/// <summary>
/// SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding. The client-first message names the user; the
/// application answers with the user's stored credentials (<see cref="SmtpAuthResult.Scram"/>); the server sends salt,
/// iteration count and its nonce, checks the client's proof against StoredKey in constant time, proves itself with
/// <c>v=ServerSignature</c>, and after the client's empty answer replies 235.
/// </summary>
internal sealed class ScramSha256Mechanism : SaslServerMechanism
{
    private const int KeyLength = 32;
    private State _state;
    private string _gs2Header = "";
    private string _clientFirstBare = "";
    private string _clientNonce = "";
    private string _nonce = "";
    private string _serverFirst = "";
    private ScramSha256Credentials? _credentials;
    private object? _user;

    private enum State : byte
    {
        ClientFirst,
        Credentials,
        ClientFinal,
        Acknowledgement,
    }

    public override string Name => SmtpAuthMethods.ScramSha256;

    /// <summary>Makes the server's part of the nonce; tests replace it to replay the RFC 7677 example.</summary>
    internal Func<string> NonceFactory { get; init; } = static () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    public override SaslStep Start(string? initialResponse) =>
        initialResponse is null ? SaslStep.Challenge("") : ReadClientFirst(initialResponse);

    public override SaslStep Continue(string line)
    {
        if (IsCancel(line))
        {
            return SaslStep.Aborted;
        }

        return _state switch
        {
            State.ClientFirst => ReadClientFirst(line),
            State.ClientFinal => ReadClientFinal(line),
            State.Acknowledgement => DecodeText(line).Length == 0 ? SaslStep.Succeeded(_user!) : SaslStep.InvalidUserdata,
            _ => SaslStep.InvalidUserdata,
        };
    }

    public override SaslStep Complete(SmtpAuthResult result)
    {
        if (result.ScramCredentials is not { } credentials)
        {
            return result.IsSuccess
                ? SaslStep.HandlerMisuse("the AUTH handler answered SCRAM-SHA-256 with Success instead of SmtpAuthResult.Scram(credentials, user)")
                : base.Complete(result);
        }

        _credentials = credentials;
        _user = result.User;
        _nonce = _clientNonce + NonceFactory();
        _serverFirst = string.Create(CultureInfo.InvariantCulture, $"r={_nonce},s={Convert.ToBase64String(credentials.Salt.Span)},i={credentials.Iterations}");
        _state = State.ClientFinal;
        return SaslStep.Challenge(Convert.ToBase64String(Encoding.UTF8.GetBytes(_serverFirst)));
    }

    /// <summary><c>gs2-header [m=…,] n=user,r=nonce[,extensions]</c>.</summary>
    private SaslStep ReadClientFirst(string base64)
    {
        string message = DecodeText(base64);
        int header = ParseGs2Header(message, out string? authorizationIdentity);
        if (header < 0)
        {
            return SaslStep.InvalidUserdata;
        }

        string bare = message[header..];
        string[] attributes = bare.Split(',');
        if (attributes.Length < 2 || !attributes[0].StartsWith("n=", StringComparison.Ordinal) || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
        {
            // Includes a leading "m=": no mandatory extension is supported.
            return SaslStep.InvalidUserdata;
        }

        string? username = DecodeSaslName(attributes[0].AsSpan(2));
        string nonce = attributes[1][2..];
        if (string.IsNullOrEmpty(username) || HasControl(username) || (authorizationIdentity is not null && HasControl(authorizationIdentity)) || !IsPrintable(nonce))
        {
            return SaslStep.InvalidUserdata;
        }

        _gs2Header = message[..header];
        _clientFirstBare = bare;
        _clientNonce = nonce;
        _state = State.Credentials;
        return SaslStep.Authenticate(new SmtpAuthRequest(SmtpAuthMethods.ScramSha256, username, authorizationIdentity: authorizationIdentity));
    }

    /// <summary><c>c=base64(gs2-header),r=nonce[,extensions],p=base64(ClientProof)</c>.</summary>
    private SaslStep ReadClientFinal(string base64)
    {
        string message = DecodeText(base64);
        int proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
        {
            return SaslStep.InvalidUserdata;
        }

        string withoutProof = message[..proofAt];
        byte[]? proof = DecodeStrict(message.AsSpan(proofAt + 3));
        string[] attributes = withoutProof.Split(',');
        if (proof is not { Length: KeyLength } || attributes.Length < 2
            || !attributes[0].StartsWith("c=", StringComparison.Ordinal) || !attributes[1].StartsWith("r=", StringComparison.Ordinal)
            || DecodeStrict(attributes[0].AsSpan(2)) is not { } binding)
        {
            return SaslStep.InvalidUserdata;
        }

        ScramSha256Credentials credentials = _credentials!;
        if (!binding.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(_gs2Header)) || !string.Equals(attributes[1][2..], _nonce, StringComparison.Ordinal))
        {
            return SaslStep.Failed(535, CredentialsInvalid);
        }

        byte[] authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + _serverFirst + "," + withoutProof);
        Span<byte> clientKey = stackalloc byte[KeyLength];
        Span<byte> storedKey = stackalloc byte[KeyLength];
        HMACSHA256.HashData(credentials.StoredKey.Span, authMessage, clientKey);
        for (int i = 0; i < KeyLength; i++)
        {
            // ClientKey = ClientProof XOR ClientSignature
            clientKey[i] ^= proof[i];
        }

        SHA256.HashData(clientKey, storedKey);
        CryptographicOperations.ZeroMemory(clientKey);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, credentials.StoredKey.Span))
        {
            return SaslStep.Failed(535, CredentialsInvalid);
        }

        Span<byte> serverSignature = stackalloc byte[KeyLength];
        HMACSHA256.HashData(credentials.ServerKey.Span, authMessage, serverSignature);
        _state = State.Acknowledgement;
        return SaslStep.Challenge(Convert.ToBase64String(Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature))));
    }

    /// <summary>A SCRAM nonce: printable ASCII except the comma.</summary>
    private static bool IsPrintable(string nonce)
    {
        if (nonce.Length == 0)
        {
            return false;
        }

        foreach (char c in nonce)
        {
            if (c is < '!' or > '~' or ',')
            {
                return false;
            }
        }

        return true;
    }
}
