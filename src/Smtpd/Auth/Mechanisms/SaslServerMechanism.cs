using System.Buffers;
using System.Text;

namespace Smtpd;

/// <summary>
/// The server side of one SASL mechanism for one AUTH attempt: a small state machine fed with the initial response and
/// the client's continuation lines, which answers with <see cref="SaslStep"/>s. It never does I/O and never throws on
/// client input; the connection writes the replies and calls the application.
/// </summary>
internal abstract class SaslServerMechanism
{
    /// <summary>The reference's reply when the application refuses PLAIN, LOGIN or CRAM-MD5 credentials without a text.</summary>
    public const string CredentialsInvalid = "Error: Authentication credentials invalid";

    /// <summary>The final reply after a refused XOAUTH2/OAUTHBEARER token.</summary>
    public const string TokenNotAccepted = "Error: Username and Password not accepted";

    /// <summary>The mechanism's name as advertised.</summary>
    public abstract string Name { get; }

    /// <summary>Whether <c>AUTH &lt;name&gt; &lt;initial-response&gt;</c> is allowed (CRAM-MD5: no).</summary>
    public virtual bool AcceptsInitialResponse => true;

    /// <summary>The 501 text for <c>AUTH &lt;name&gt;</c> with too many arguments.</summary>
    public virtual string SyntaxError => $"Error: syntax: AUTH {Name} token";

    /// <summary>Starts the exchange; <paramref name="initialResponse"/> is <see langword="null"/> when the AUTH command had none.</summary>
    public abstract SaslStep Start(string? initialResponse);

    /// <summary>Handles the client's next line (after a <see cref="SaslStepKind.Challenge"/>).</summary>
    public abstract SaslStep Continue(string line);

    /// <summary>Turns the application's answer to the request of a <see cref="SaslStepKind.Authenticate"/> step into the next step.</summary>
    public virtual SaslStep Complete(SmtpAuthResult result)
    {
        if (result.ScramCredentials is not null)
        {
            return SaslStep.HandlerMisuse($"the AUTH handler answered {Name} with SCRAM credentials");
        }

        if (result.IsSuccess)
        {
            return SaslStep.Succeeded(result.User!);
        }

        return result.Code == 0
            ? SaslStep.Failed(535, CredentialsInvalid)
            : SaslStep.Failed(result.Code, result.Message!, result.EnhancedCode);
    }

    /// <summary>Is <paramref name="line"/> the client's cancellation (<c>*</c>)?</summary>
    protected static bool IsCancel(string line) => line.AsSpan().Trim() is "*";

    /// <summary>Base64-decodes leniently and reads the bytes as UTF-8 (invalid sequences become U+FFFD), as the reference.</summary>
    protected static string DecodeText(string base64)
    {
        int max = LenientBase64.MaxDecodedLength(base64.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            return Encoding.UTF8.GetString(buffer[..LenientBase64.Decode(base64, buffer)]);
        }
        finally
        {
            if (rented is not null)
            {
                // It held a secret.
                ArrayPool<byte>.Shared.Return(rented, clearArray: true);
            }
        }
    }

    /// <summary>Does the identity contain a control character (C0, DEL, C1)? Such identities are refused before the application sees them.</summary>
    protected static bool HasControl(string identity) => XText.HasControl(identity);

    /// <summary>
    /// Decodes a GS2/SCRAM <c>saslname</c> (RFC 5802 §5.1): <c>=2C</c> is a comma, <c>=3D</c> an equals sign; any other
    /// <c>=</c> or a bare comma makes it invalid (<see langword="null"/>).
    /// </summary>
    protected static string? DecodeSaslName(ReadOnlySpan<char> value)
    {
        if (value.IndexOfAny('=', ',') < 0)
        {
            return value.ToString();
        }

        var builder = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == ',')
            {
                return null;
            }

            if (c == '=')
            {
                if (value[(i + 1)..].StartsWith("2C", StringComparison.Ordinal))
                {
                    builder.Append(',');
                }
                else if (value[(i + 1)..].StartsWith("3D", StringComparison.Ordinal))
                {
                    builder.Append('=');
                }
                else
                {
                    return null;
                }

                i += 2;
                continue;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Splits a GS2 header (RFC 5801 §4) off <paramref name="message"/>: <c>n,</c> or <c>y,</c> (no channel binding; Smtpd
    /// offers no <c>-PLUS</c> mechanism, so <c>p=</c> is refused), then an optional <c>a=saslname</c> and a comma.
    /// Returns the header length, or -1 when malformed; <paramref name="authorizationIdentity"/> is the decoded <c>a=</c>.
    /// </summary>
    protected static int ParseGs2Header(string message, out string? authorizationIdentity)
    {
        authorizationIdentity = null;
        if (message.Length < 3 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
        {
            return -1;
        }

        int end = message.IndexOf(',', 2);
        if (end < 0)
        {
            return -1;
        }

        ReadOnlySpan<char> authzid = message.AsSpan(2, end - 2);
        if (!authzid.IsEmpty)
        {
            if (!authzid.StartsWith("a=", StringComparison.Ordinal) || DecodeSaslName(authzid[2..]) is not { } decoded)
            {
                return -1;
            }

            authorizationIdentity = decoded;
        }

        return end + 1;
    }

    /// <summary>Strict standard base64 (for the attributes inside SCRAM and OAUTHBEARER messages); <see langword="null"/> when malformed.</summary>
    protected static byte[]? DecodeStrict(ReadOnlySpan<char> base64)
    {
        byte[] buffer = new byte[(base64.Length * 3 / 4) + 3];
        return Convert.TryFromBase64Chars(base64, buffer, out int written) ? buffer.AsSpan(0, written).ToArray() : null;
    }
}
