using System.Text;

namespace Smtpd;

/// <summary>
/// The shared exchange of the bearer-token mechanisms (XOAUTH2, OAUTHBEARER): the token comes as the initial response
/// or after an empty challenge; a refused token gets a base64 JSON error challenge, and the client's acknowledgement
/// of it (any line) gets <c>535 Error: Username and Password not accepted</c>.
/// </summary>
internal abstract class BearerTokenMechanism : SaslServerMechanism
{
    private bool _awaitingErrorAcknowledgement;

    /// <summary>The JSON sent when the handler refused without error details.</summary>
    protected abstract string DefaultError { get; }

    public override SaslStep Start(string? initialResponse) =>
        initialResponse is null ? SaslStep.Challenge("") : Parse(initialResponse);

    public override SaslStep Continue(string line)
    {
        if (_awaitingErrorAcknowledgement)
        {
            return SaslStep.Failed(535, TokenNotAccepted);
        }

        return IsCancel(line) ? SaslStep.Aborted : Parse(line);
    }

    public override SaslStep Complete(SmtpAuthResult result)
    {
        if (result.IsSuccess || result.Code != 0 || result.ScramCredentials is not null)
        {
            return base.Complete(result);
        }

        _awaitingErrorAcknowledgement = true;
        return SaslStep.Challenge(Convert.ToBase64String(Encoding.UTF8.GetBytes(result.OAuthError ?? DefaultError)));
    }

    /// <summary>Decodes the client's token message into a request, or a 501 step.</summary>
    protected abstract SaslStep Parse(string base64);

    /// <summary>The token of <c>Bearer &lt;token&gt;</c> (scheme case-insensitive), or <see langword="null"/>.</summary>
    protected static string? BearerToken(string value)
    {
        string[] words = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return words.Length > 1 && words[0].Equals("bearer", StringComparison.OrdinalIgnoreCase) ? string.Join(' ', words, 1, words.Length - 1) : null;
    }
}
