using GrantSilo.CedarConformance;

// Usage: cedar-conformance DATA_ROOT [TEST.json ...]
// Resolves the paths inside each test file against DATA_ROOT (and, when DATA_ROOT holds only the
// corpus archive, against the unpacked corpus under the repository's git-ignored .cedar-data/).
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: cedar-conformance DATA_ROOT [TEST.json ...]");
    return 2;
}

var dataRoot = Path.GetFullPath(args[0]);
if (!Directory.Exists(dataRoot))
{
    Console.Error.WriteLine($"DATA_ROOT {dataRoot} does not exist.");
    return 2;
}

var roots = new List<string> { dataRoot };
if (!Directory.Exists(Path.Combine(dataRoot, "corpus-tests")) && File.Exists(Path.Combine(dataRoot, "corpus-tests-dev.tar.gz")))
{
    var repoRoot = ConformanceRunner.FindRepoRoot(AppContext.BaseDirectory);
    roots.Add(ConformanceRunner.EnsureCorpusExtracted(dataRoot, Path.Combine(repoRoot, ".cedar-data")));
}

var runner = new ConformanceRunner(roots);
IReadOnlyList<string> files;
try
{
    files = args.Length > 1 ? [.. args.Skip(1).Select(runner.ResolveTestFile)] : runner.DiscoverTestFiles();
}
catch (FileNotFoundException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var report = runner.RunAllWithValidation(files);
var outcomes = report.Requests;
foreach (var failure in outcomes.Where(o => !o.Passed))
{
    Console.WriteLine(failure.Describe());
}

foreach (var failure in report.Validations.Where(v => !v.Passed))
{
    Console.WriteLine(failure.Describe());
}

foreach (var (group, passed, total) in ConformanceRunner.Summarize(outcomes))
{
    Console.WriteLine($"{group}: {passed}/{total} passed ({100.0 * passed / Math.Max(total, 1):F2}%)");
}

var failed = outcomes.Count(o => !o.Passed);
Console.WriteLine($"{outcomes.Count - failed} passed, {failed} failed");
var validationsPassed = report.Validations.Count(v => v.Passed);
var policyChecks = report.Validations.Where(v => v.Subject == "policies").ToList();
var requestChecks = report.Validations.Where(v => v.Subject != "policies").ToList();
Console.WriteLine(
    $"validation: {validationsPassed}/{report.Validations.Count} " +
    $"(policy sets {policyChecks.Count(v => v.Passed)}/{policyChecks.Count}, requests {requestChecks.Count(v => v.Passed)}/{requestChecks.Count})");
return failed == 0 && validationsPassed == report.Validations.Count ? 0 : 1;
