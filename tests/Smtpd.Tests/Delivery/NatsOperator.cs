using System.Text;
using System.Text.Json.Nodes;
using NATS.NKeys;

namespace Smtpd.Tests.Delivery;

/// <summary>
/// NATS decentralised authentication as nsc would set it up, made in the test: an operator, a system account, an
/// account with JetStream and a user of it, each an Ed25519 nkey (NATS.NKeys); the operator signs the accounts' JWTs,
/// the account signs the user's (nats-io/jwt v2 claims, <c>alg: ed25519-nkey</c>, signature over header.payload).
/// <see cref="ServerConfig"/> is the nats-server side (operator JWT, <c>resolver: MEMORY</c> with the accounts
/// preloaded), <see cref="WriteCredsAsync"/> the client side (a <c>.creds</c> file: the user JWT and its seed).
/// </summary>
public sealed class NatsOperator
{
    private readonly KeyPair _operator = KeyPair.CreatePair(PrefixByte.Operator);
    private readonly KeyPair _system = KeyPair.CreatePair(PrefixByte.Account);
    private readonly KeyPair _account = KeyPair.CreatePair(PrefixByte.Account);
    private readonly KeyPair _user = KeyPair.CreatePair(PrefixByte.User);

    /// <summary>The user's nkey seed: the secret of the <c>.creds</c> file.</summary>
    public string UserSeed => _user.GetSeed();

    /// <summary>The nats-server configuration lines of the operator mode (to add to a node's configuration).</summary>
    public string ServerConfig()
    {
        string operatorJwt = Sign(_operator, _operator.GetPublicKey(), "smtpd-test-operator",
            new JsonObject { ["type"] = "operator", ["version"] = 2, ["system_account"] = _system.GetPublicKey() });
        JsonObject limits = Unlimited();
        foreach (string jetStream in (string[])["mem_storage", "disk_storage", "streams", "consumer"])
        {
            limits[jetStream] = -1;   // JetStream enabled for the account, without limits
        }

        string accountJwt = Sign(_operator, _account.GetPublicKey(), "mail", new JsonObject { ["type"] = "account", ["version"] = 2, ["limits"] = limits });
        string systemJwt = Sign(_operator, _system.GetPublicKey(), "SYS", new JsonObject { ["type"] = "account", ["version"] = 2, ["limits"] = Unlimited() });
        return $$"""
            operator: {{operatorJwt}}
            system_account: {{_system.GetPublicKey()}}
            resolver: MEMORY
            resolver_preload: {
              {{_account.GetPublicKey()}}: {{accountJwt}}
              {{_system.GetPublicKey()}}: {{systemJwt}}
            }

            """;
    }

    /// <summary>Writes the user's <c>.creds</c> file (nsc's format) to <paramref name="path"/>.</summary>
    public async Task<string> WriteCredsAsync(string path)
    {
        string userJwt = Sign(_account, _user.GetPublicKey(), "smtpd",
            new JsonObject { ["type"] = "user", ["version"] = 2, ["subs"] = -1, ["data"] = -1, ["payload"] = -1 });
        await File.WriteAllTextAsync(path, $"""
            -----BEGIN NATS USER JWT-----
            {userJwt}
            ------END NATS USER JWT------

            ************************* IMPORTANT *************************
            NKEY Seed printed below can be used to sign and prove identity.
            NKEYs are sensitive and should be treated as secrets.

            -----BEGIN USER NKEY SEED-----
            {UserSeed}
            ------END USER NKEY SEED------

            *************************************************************

            """);
        return path;
    }

    private static JsonObject Unlimited() => new()
    {
        ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true, ["conn"] = -1, ["leaf"] = -1,
    };

    private static string Sign(KeyPair issuer, string subject, string name, JsonObject nats)
    {
        var claims = new JsonObject
        {
            ["jti"] = Guid.NewGuid().ToString("N").ToUpperInvariant(),
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["iss"] = issuer.GetPublicKey(),
            ["name"] = name,
            ["sub"] = subject,
            ["nats"] = nats,
        };
        string signed = Base64Url("""{"typ":"JWT","alg":"ed25519-nkey"}"""u8.ToArray()) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        byte[] signature = new byte[64];
        issuer.Sign(Encoding.ASCII.GetBytes(signed), signature);
        return signed + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] data) => System.Buffers.Text.Base64Url.EncodeToString(data);
}
