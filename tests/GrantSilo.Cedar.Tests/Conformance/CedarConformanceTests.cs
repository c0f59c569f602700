using GrantSilo.CedarConformance;
using Xunit.Abstractions;

namespace GrantSilo.Cedar.Tests.Conformance;

/// <summary>Every request of Cedar's integration tests must match the reference decision, reasons and errors.</summary>
public sealed class CedarConformanceTests(CedarCorpusFixture corpus, ITestOutputHelper output) : IClassFixture<CedarCorpusFixture>
{
    /// <summary>Requests excluded because they need a feature documented as unsupported (see src/GrantSilo.Cedar/README.md). Empty.</summary>
    private static readonly HashSet<string> Excluded = [];

    /// <summary>Lower bounds on request counts, so a corpus that silently failed to load cannot pass.</summary>
    public static TheoryData<string, int> Groups => new()
    {
        { "tests/decimal", 5 },
        { "tests/ip", 8 },
        { "tests/multi", 15 },
        { "tests/example_use_cases", 46 },
        { "corpus-tests", 31_000 },
    };

    [Theory]
    [MemberData(nameof(Groups))]
    public void Group_MatchesReferenceDecisionsReasonsAndErrors(string group, int minimumRequests)
    {
        var outcomes = corpus.Outcomes.Where(o => o.Group == group && !Excluded.Contains(o.TestFile + " :: " + o.Description)).ToList();
        var failures = outcomes.Where(o => !o.Passed).ToList();
        output.WriteLine($"{group}: {outcomes.Count - failures.Count}/{outcomes.Count} passed ({100.0 * (outcomes.Count - failures.Count) / Math.Max(1, outcomes.Count):F2}%)");
        foreach (var failure in failures.Take(20))
        {
            output.WriteLine(failure.Describe());
        }

        Assert.True(outcomes.Count >= minimumRequests, $"{group}: only {outcomes.Count} requests found, expected at least {minimumRequests}");
        Assert.True(failures.Count == 0, $"{group}: {failures.Count} of {outcomes.Count} requests differ from the reference, first:\n{failures.FirstOrDefault()?.Describe()}");
    }

    [Fact]
    public void Validator_AgreesWithShouldValidateOfEveryTestFile()
    {
        var checks = corpus.Validations.Where(v => v.Subject == "policies").ToList();
        var failures = checks.Where(v => !v.Passed).ToList();
        output.WriteLine($"validation (policy sets): {checks.Count - failures.Count}/{checks.Count}");
        foreach (var failure in failures.Take(20))
        {
            output.WriteLine(failure.Describe());
        }

        Assert.True(checks.Count >= 3_900, $"only {checks.Count} test files had a schema and shouldValidate");
        Assert.True(checks.Count(v => !v.Expected) >= 800, "the corpus should contain test files that must not validate");
        Assert.True(failures.Count == 0, $"{failures.Count} of {checks.Count} verdicts differ from Cedar's, first:\n{failures.FirstOrDefault()?.Describe()}");
    }

    [Fact]
    public void RequestValidation_AgreesWithValidateRequestOfEveryRequest()
    {
        var checks = corpus.Validations.Where(v => v.Subject != "policies").ToList();
        var failures = checks.Where(v => !v.Passed).ToList();
        output.WriteLine($"validation (requests): {checks.Count - failures.Count}/{checks.Count}");
        Assert.True(checks.Count >= 31_000, $"only {checks.Count} requests had validateRequest");
        Assert.True(failures.Count == 0, $"{failures.Count} of {checks.Count} request verdicts differ from Cedar's, first:\n{failures.FirstOrDefault()?.Describe()}");
    }

    [Fact]
    public void Summary_ReportsPassRatePerGroup()
    {
        var summary = ConformanceRunner.Summarize(corpus.Outcomes).ToList();
        foreach (var (group, passed, total) in summary)
        {
            output.WriteLine($"{group}: {passed}/{total} ({100.0 * passed / Math.Max(1, total):F2}%)");
        }

        Assert.Equal(ConformanceRunner.Groups, summary.Select(s => s.Group));
    }
}
