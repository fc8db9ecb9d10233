using BenchmarkDotNet.Attributes;

namespace Smtpd.Benchmarks;

/// <summary>
/// Comparing a password guess with the secret (<c>SecretComparer.AreEqual</c>, behind
/// <c>SmtpAuthRequest.ValidatePassword</c> and the CRAM-MD5 and SCRAM checks). The time must not depend on how much of
/// the guess is right: the rows of one run should show the same mean whatever <see cref="Guess"/> is, where an
/// ordinary string comparison (<see cref="OrdinalEquals"/>) returns sooner the earlier the guess goes wrong.
/// </summary>
[MemoryDiagnoser]
public class SecretComparerBenchmarks
{
    private const string Secret = "correct horse battery staple, 32+";

    /// <summary>A wrong guess that differs at its first character, one that differs only at its last, and a shorter one.</summary>
    [Params("Xorrect horse battery staple, 32+", "correct horse battery staple, 32X", "correct")]
    public string Guess { get; set; } = "";

    /// <summary>The constant-time comparison.</summary>
    [Benchmark(Baseline = true)]
    public bool ConstantTime() => SecretComparer.AreEqual(Secret, Guess);

    /// <summary>For contrast: the early-exit comparison a naive check would use.</summary>
    [Benchmark]
    public bool OrdinalEquals() => string.Equals(Secret, Guess, StringComparison.Ordinal);
}
