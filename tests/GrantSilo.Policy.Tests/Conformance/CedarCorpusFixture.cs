using GrantSilo.CedarConformance;

namespace GrantSilo.Policy.Tests.Conformance;

/// <summary>
/// Locates <c>../shared/cedar-corpus</c> next to the repository root, unpacks the generated corpus once into the
/// git-ignored <c>.cedar-data/</c>, and runs every test file once for all conformance tests.
/// Fails with a message when the data is missing; it never skips.
/// </summary>
public sealed class CedarCorpusFixture
{
    private readonly Lazy<IReadOnlyList<RequestOutcome>> _outcomes;

    public CedarCorpusFixture()
    {
        _outcomes = new Lazy<IReadOnlyList<RequestOutcome>>(() =>
        {
            var repoRoot = ConformanceRunner.FindRepoRoot(AppContext.BaseDirectory);
            var runner = new ConformanceRunner(ConformanceRunner.PrepareSharedCorpus(repoRoot));
            return runner.RunAll(runner.DiscoverTestFiles());
        });
    }

    public IReadOnlyList<RequestOutcome> Outcomes => _outcomes.Value;
}
