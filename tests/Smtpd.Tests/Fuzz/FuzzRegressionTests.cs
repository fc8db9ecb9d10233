using Smtpd.Fuzz;

namespace Smtpd.Tests.Fuzz;

/// <summary>
/// Replays the fuzz harness's inputs through the same targets (the harness's <c>FuzzTargets.cs</c>, compiled into this
/// project): the seed corpus (<c>tests/Smtpd.Fuzz/corpus/TARGET</c>) and every finding saved as a regression
/// (<c>tests/Smtpd.Fuzz/regressions/TARGET</c>). A target throws when one of its properties does not hold.
/// </summary>
public sealed class FuzzRegressionTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (string folder in (string[])["corpus", "regressions"])
        {
            foreach (string target in FuzzTargets.All.Keys)
            {
                string directory = RepositoryFile.PathOf($"tests/Smtpd.Fuzz/{folder}/{target}");
                if (!Directory.Exists(directory))
                {
                    continue;
                }

                foreach (string file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
                {
                    data.Add(target, $"tests/Smtpd.Fuzz/{folder}/{target}/{Path.GetFileName(file)}");
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Fuzz_input_keeps_the_properties_of_its_target(string target, string file) =>
        FuzzTargets.All[target](File.ReadAllBytes(RepositoryFile.PathOf(file)));

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (string target in FuzzTargets.All.Keys)
        {
            string directory = RepositoryFile.PathOf($"tests/Smtpd.Fuzz/corpus/{target}");
            Assert.True(Directory.Exists(directory) && Directory.EnumerateFiles(directory).Any(), $"no seeds for {target}");
        }
    }
}
