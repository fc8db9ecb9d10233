using System.Text.RegularExpressions;

namespace Smtpd.Tests.Auth;

/// <summary>The "Authentication" group of the reference's protocol tests (§18.5), with and without enhanced codes.</summary>
public partial class AuthProtocolTests
{
    private const string Mail = "MAIL FROM:<sender@example.com>";
    private const string Ehlo = "EHLO client.example.com";

    public static TheoryData<string, string[], int?[], bool> Cases()
    {
        string token = AuthServer.PlainToken;
        var cases = new (string Name, string[] Commands, int?[] Codes, bool Optional)[]
        {
            ("AUTH before EHLO", [$"AUTH PLAIN {token}"], [503], false),
            ("MAIL before AUTH", [Ehlo, Mail], [250, 530], false),
            ("unknown mechanism", [Ehlo, "AUTH FOO"], [250, 504], false),
            ("PLAIN with an initial response", [Ehlo, $"AUTH PLAIN {token}", Mail], [250, 235, 250], false),
            ("PLAIN without an initial response", [Ehlo, "AUTH PLAIN", token, Mail], [250, 334, 235, 250], false),
            ("PLAIN aborted", [Ehlo, "AUTH PLAIN", "*", Mail], [250, 334, 501, 530], false),
            ("PLAIN with too many arguments", [Ehlo, "AUTH PLAIN a b"], [250, 501], false),
            ("PLAIN with an invalid token", [Ehlo, "AUTH PLAIN AAAA"], [250, 501], false),
            ("LOGIN in steps", [Ehlo, "AUTH LOGIN", "dXNlcg==", "cGFzcw==", Mail], [250, 334, 334, 235, 250], false),
            ("LOGIN with the username as initial response", [Ehlo, "AUTH LOGIN dXNlcg==", "cGFzcw=="], [250, 334, 235], false),
            ("LOGIN aborted at the username", [Ehlo, "AUTH LOGIN", "*"], [250, 334, 501], false),
            ("LOGIN aborted at the password", [Ehlo, "AUTH LOGIN", "dXNlcg==", "*"], [250, 334, 334, 501], false),
            ("LOGIN with wrong credentials", [Ehlo, "AUTH LOGIN", "dXNlcg==", "d3Jvbmc="], [250, 334, 334, 535], false),
            ("AUTH after a successful AUTH", [Ehlo, $"AUTH PLAIN {token}", $"AUTH PLAIN {token}"], [250, 235, 503], false),
            ("optional authentication", [Ehlo, Mail], [250, 250], true),
        };
        var data = new TheoryData<string, string[], int?[], bool>();
        foreach (var c in cases)
        {
            data.Add(c.Name, c.Commands, c.Codes, c.Optional);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Reference_case(string name, string[] commands, int?[] codes, bool optional) => RunAsync(name, commands, codes, optional, enhanced: false);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Reference_case_with_enhanced_codes(string name, string[] commands, int?[] codes, bool optional) => RunAsync(name, commands, codes, optional, enhanced: true);

    private static async Task RunAsync(string name, string[] commands, int?[] codes, bool optional, bool enhanced)
    {
        await using TestServer server = await AuthServer.StartAsync(o =>
        {
            o.AuthOptional = optional;
            o.HideEnhancedStatusCodes = !enhanced;
        });
        await using RawClient client = await server.ConnectAsync();
        var actual = new List<int?>();
        foreach (string command in commands)
        {
            await client.SendLineAsync(command);
            Reply reply;
            try
            {
                reply = await client.ReadReplyAsync();
            }
            catch (IOException)
            {
                actual.Add(null);
                continue;
            }

            actual.Add(reply.Code);
            Validate(reply, enhanced && !command.StartsWith("EHLO", StringComparison.Ordinal));
        }

        Assert.True(codes.SequenceEqual(actual), $"{name}: expected [{string.Join(", ", codes)}], got [{string.Join(", ", actual)}]");
    }

    /// <summary>The reference test client's checks of every reply.</summary>
    private static void Validate(Reply reply, bool expectEnhanced)
    {
        for (int i = 0; i < reply.Lines.Count; i++)
        {
            string line = reply.Lines[i];
            Assert.Matches(ReplyLine(), line);
            Assert.True(line.Length + 2 <= 512, $"reply line too long: {line}");
            Assert.Equal(reply.Code.ToString(), line[..3]);
            Assert.Equal(i < reply.Lines.Count - 1 ? '-' : ' ', line.Length > 3 ? line[3] : ' ');
            Assert.DoesNotContain(line, c => char.IsControl(c));
        }

        Match enhanced = EnhancedCode().Match(reply.Line);
        if (enhanced.Success)
        {
            Assert.Equal(reply.Line[0], enhanced.Groups[1].Value[0]);
        }

        if (expectEnhanced && reply.Code != 334)
        {
            Assert.True(enhanced.Success, $"no enhanced code in '{reply.Line}'");
        }
    }

    [GeneratedRegex(@"^[2-5][0-5]\d([ -].*)?$")]
    private static partial Regex ReplyLine();

    [GeneratedRegex(@"^\d{3}[ -]((\d)\.\d{1,3}\.\d{1,3})( |$)")]
    private static partial Regex EnhancedCode();
}
