namespace Smtpd.Tests.Auth;

/// <summary>
/// What <c>SecretComparer</c> answers. That it takes the same time whatever the guess is shown by
/// <c>bench/Smtpd.Benchmarks</c> (<c>SecretComparerBenchmarks</c>), not by a timed test.
/// </summary>
public class SecretComparerTests
{
    [Theory]
    [InlineData("secret", "secret", true)]
    [InlineData("", "", true)]
    [InlineData("pässwörd", "pässwörd", true)]
    [InlineData("secret", "Secret", false)]
    [InlineData("secret", "secreT", false)]
    [InlineData("secret", "secre", false)]
    [InlineData("secret", "secret ", false)]
    [InlineData("secret", "", false)]
    [InlineData("", "secret", false)]
    public void Equal_only_for_the_same_characters(string secret, string candidate, bool equal) =>
        Assert.Equal(equal, SecretComparer.AreEqual(secret, candidate));
}
