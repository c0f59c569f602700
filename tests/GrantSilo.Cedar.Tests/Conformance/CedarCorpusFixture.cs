using GrantSilo.CedarConformance;

namespace GrantSilo.Cedar.Tests.Conformance;

/// <summary>
/// Locates <c>../shared/cedar-corpus</c> next to the repository root, unpacks the generated corpus once into the
/// git-ignored <c>.cedar-data/</c>, and runs every test file once for all conformance tests.
/// Fails with a message when the data is missing; it never skips.
/// </summary>
public sealed class CedarCorpusFixture
{
    private readonly Lazy<ConformanceReport> _report;

    public CedarCorpusFixture()
    {
        _report = new Lazy<ConformanceReport>(() =>
        {
            var repoRoot = ConformanceRunner.FindRepoRoot(AppContext.BaseDirectory);
            var runner = new ConformanceRunner(ConformanceRunner.PrepareSharedCorpus(repoRoot));
            return runner.RunAllWithValidation(runner.DiscoverTestFiles());
        });
    }

    /// <summary>Decisions of every request.</summary>
    public IReadOnlyList<RequestOutcome> Outcomes => _report.Value.Requests;

    /// <summary>Validator verdicts: each test file's <c>shouldValidate</c> and each request's <c>validateRequest</c>.</summary>
    public IReadOnlyList<ValidationOutcome> Validations => _report.Value.Validations;
}
