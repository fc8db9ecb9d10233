using Smtpd;

namespace Snippets;

/// <summary>An application's user store, as the AUTH snippet assumes one.</summary>
public sealed record Account(string Name, string Password, ScramSha256Credentials ScramCredentials);

public interface IAccountStore
{
    ValueTask<Account?> FindAsync(string? name, CancellationToken cancellationToken);
}

public static class AuthSnippets
{
    /// <summary>docs/auth.md, The handler contract.</summary>
    public static SmtpServerOptions Handler(IAccountStore accounts)
    {
        var options = new SmtpServerOptions();
        #region handler
        options.OnAuth = async (auth, session, ct) =>
        {
            Account? account = await accounts.FindAsync(auth.Username, ct);
            if (account is null) return SmtpAuthResult.Failure();
            if (auth.Method == SmtpAuthMethods.ScramSha256)
                return SmtpAuthResult.Scram(account.ScramCredentials, account);   // the server verifies the proof
            return auth.ValidatePassword(account.Password) ? SmtpAuthResult.Success(account) : SmtpAuthResult.Failure();
        };
        #endregion
        return options;
    }

    /// <summary>docs/auth.md, SmtpPasswordAuthenticator.</summary>
    public static SmtpServerOptions Passwords()
    {
        var options = new SmtpServerOptions();
        #region passwords
        var users = new SmtpPasswordAuthenticator(new Dictionary<string, string> { ["alice"] = "secret" });
        options.OnAuth = users.AuthenticateAsync;
        options.AuthMethods = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-256"];
        #endregion
        return options;
    }
}
