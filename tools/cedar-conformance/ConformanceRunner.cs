using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using GrantSilo.Cedar;

namespace GrantSilo.CedarConformance;

/// <summary>The expected and actual outcome of one request of a Cedar integration test file.</summary>
public sealed record RequestOutcome(
    string TestFile,
    string Group,
    string Description,
    string ExpectedDecision,
    IReadOnlyList<string> ExpectedReason,
    IReadOnlyList<string> ExpectedErrors,
    string ActualDecision,
    IReadOnlyList<string> ActualReason,
    IReadOnlyList<string> ActualErrors,
    string? Failure)
{
    /// <summary>True when decision, determining policies and erroring policies all match.</summary>
    public bool Passed => Failure is null &&
        ExpectedDecision == ActualDecision &&
        ExpectedReason.SequenceEqual(ActualReason) &&
        ExpectedErrors.SequenceEqual(ActualErrors);

    /// <summary>A multi-line description of a mismatch.</summary>
    public string Describe() =>
        $"{TestFile} :: {Description}\n" +
        $"  expected: {ExpectedDecision} reason=[{string.Join(",", ExpectedReason)}] errors=[{string.Join(",", ExpectedErrors)}]\n" +
        $"  actual:   {ActualDecision} reason=[{string.Join(",", ActualReason)}] errors=[{string.Join(",", ActualErrors)}]" +
        (Failure is null ? string.Empty : $"\n  failure:  {Failure}");
}

/// <summary>Whether the validator agreed with a test file's <c>shouldValidate</c>, or a request's <c>validateRequest</c>.</summary>
public sealed record ValidationOutcome(string TestFile, string Group, string Subject, bool Expected, bool Actual, string? Detail)
{
    /// <summary>True when the verdicts agree.</summary>
    public bool Passed => Expected == Actual;

    /// <summary>A multi-line description of a disagreement.</summary>
    public string Describe() =>
        $"{TestFile} :: {Subject}\n  expected valid={Expected}, actual valid={Actual}" + (Detail is null ? string.Empty : $"\n  {Detail}");
}

/// <summary>Everything one run of the corpus found: request decisions and validation verdicts.</summary>
public sealed record ConformanceReport(IReadOnlyList<RequestOutcome> Requests, IReadOnlyList<ValidationOutcome> Validations);

/// <summary>
/// Runs Cedar's JSON integration test files (hand-written tests and the generated corpus) against the GrantSilo engine.
/// Shared by the <c>cedar-conformance</c> command and the conformance test; parses each policy and entity file once.
/// </summary>
public sealed class ConformanceRunner(IReadOnlyList<string> dataRoots)
{
    /// <summary>The groups results are reported under.</summary>
    public static readonly string[] Groups = ["tests/decimal", "tests/ip", "tests/multi", "tests/example_use_cases", "corpus-tests"];

    private readonly ConcurrentDictionary<string, Lazy<(PolicySet? Set, string? Error)>> _policies = new();
    private readonly ConcurrentDictionary<string, Lazy<(EntityStore? Store, string? Error)>> _entities = new();
    private readonly ConcurrentDictionary<string, Lazy<(CedarSchema? Schema, string? Error)>> _schemas = new();

    /// <summary>Finds the repository root (the directory holding GrantSilo.sln) at or above <paramref name="start"/>.</summary>
    public static string FindRepoRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GrantSilo.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Could not find GrantSilo.sln at or above {start}.");
    }

    /// <summary>
    /// The Cedar corpus in <c>../shared/cedar-corpus</c> next to the repository, with the generated corpus unpacked
    /// (once) under the git-ignored <c>.cedar-data/</c>. Returns the data roots to resolve test paths against.
    /// </summary>
    public static IReadOnlyList<string> PrepareSharedCorpus(string repoRoot)
    {
        var corpus = Path.GetFullPath(Path.Combine(repoRoot, "..", "shared", "cedar-corpus"));
        if (!Directory.Exists(Path.Combine(corpus, "tests")))
        {
            throw new InvalidOperationException(
                $"The Cedar conformance data is missing: expected {corpus}/tests (the shared/ folder next to the repository root).");
        }

        return [corpus, EnsureCorpusExtracted(corpus, Path.Combine(repoRoot, ".cedar-data"))];
    }

    /// <summary>Unpacks <c>corpus-tests-dev.tar.gz</c> from <paramref name="corpusDir"/> into <paramref name="targetDir"/> unless already done.</summary>
    public static string EnsureCorpusExtracted(string corpusDir, string targetDir)
    {
        var marker = Path.Combine(targetDir, "corpus-tests", ".complete");
        if (File.Exists(marker))
        {
            return targetDir;
        }

        var archive = Path.Combine(corpusDir, "corpus-tests-dev.tar.gz");
        if (!File.Exists(archive))
        {
            throw new InvalidOperationException($"The generated Cedar corpus is missing: expected {archive}.");
        }

        // Unpack into a private folder and move it into place, so concurrent runs never see half a corpus.
        Directory.CreateDirectory(targetDir);
        var staging = Path.Combine(targetDir, ".staging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        using (var file = File.OpenRead(archive))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        {
            TarFile.ExtractToDirectory(gzip, staging, overwriteFiles: true);
        }

        File.WriteAllText(Path.Combine(staging, "corpus-tests", ".complete"), "ok");
        var target = Path.Combine(targetDir, "corpus-tests");
        try
        {
            if (Directory.Exists(target) && !File.Exists(marker))
            {
                // Left over from an interrupted or manual unpack: replace it with the complete copy.
                Directory.Delete(target, recursive: true);
            }

            Directory.Move(Path.Combine(staging, "corpus-tests"), target);
        }
        catch (IOException) when (File.Exists(marker))
        {
            // Another run finished first.
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }

        return targetDir;
    }

    /// <summary>Every test file under <c>tests/</c> and <c>corpus-tests/</c> of the data roots.</summary>
    public IReadOnlyList<string> DiscoverTestFiles()
    {
        var files = new List<string>();
        foreach (var root in dataRoots)
        {
            foreach (var sub in new[] { "tests", "corpus-tests" })
            {
                var dir = Path.Combine(root, sub);
                if (Directory.Exists(dir))
                {
                    files.AddRange(Directory.EnumerateFiles(dir, "*.json", SearchOption.AllDirectories)
                        .Where(f => !f.EndsWith(".entities.json", StringComparison.Ordinal)));
                }
            }
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Runs many test files in parallel.</summary>
    public IReadOnlyList<RequestOutcome> RunAll(IEnumerable<string> testFiles) => RunAllWithValidation(testFiles).Requests;

    /// <summary>Runs many test files in parallel, checking decisions and validation verdicts.</summary>
    public ConformanceReport RunAllWithValidation(IEnumerable<string> testFiles)
    {
        var results = new ConcurrentBag<(int Index, IReadOnlyList<RequestOutcome> Outcomes, List<ValidationOutcome> Validations)>();
        Parallel.ForEach(testFiles.Select((f, i) => (f, i)), item =>
        {
            var validations = new List<ValidationOutcome>();
            results.Add((item.i, RunFile(item.f, validations), validations));
        });
        var ordered = results.OrderBy(r => r.Index).ToList();
        return new ConformanceReport([.. ordered.SelectMany(r => r.Outcomes)], [.. ordered.SelectMany(r => r.Validations)]);
    }

    /// <summary>Runs every request of one test file.</summary>
    public IReadOnlyList<RequestOutcome> RunFile(string testFile) => RunFile(testFile, null);

    /// <summary>Runs every request of one test file; with <paramref name="validations"/>, also checks the validator's verdicts.</summary>
    public IReadOnlyList<RequestOutcome> RunFile(string testFile, List<ValidationOutcome>? validations)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(testFile), new JsonDocumentOptions { MaxDepth = 512 });
        var root = doc.RootElement;
        var group = GroupOf(root.GetProperty("policies").GetString()!);
        var (policySet, policyError) = TryResolve(root.GetProperty("policies").GetString()!, out var policyPath) is { } missingPolicies
            ? (null, missingPolicies)
            : _policies.GetOrAdd(policyPath, p => new Lazy<(PolicySet?, string?)>(() => LoadPolicies(p))).Value;
        var authorizer = policySet is null ? null : new Authorizer(policySet);
        var displayName = DisplayName(testFile);
        CedarSchema? schema = null;
        string? schemaError = null;
        var schemaPath = string.Empty;
        if (root.TryGetProperty("schema", out var schemaProp) && schemaProp.GetString() is { } schemaRelative)
        {
            (schema, schemaError) = TryResolve(schemaRelative, out schemaPath) is { } missingSchema
                ? (null, missingSchema)
                : _schemas.GetOrAdd(schemaPath, p => new Lazy<(CedarSchema?, string?)>(() => LoadSchema(p))).Value;
        }

        // Cedar's reference results were produced by parsing entities with the test's schema.
        var (store, entityError) = TryResolve(root.GetProperty("entities").GetString()!, out var entitiesPath) is { } missingEntities
            ? (null, missingEntities)
            : schemaError is not null
                ? (null, schemaError)
                : _entities.GetOrAdd(entitiesPath + "|" + schemaPath, _ => new Lazy<(EntityStore?, string?)>(() => LoadEntities(entitiesPath, schema))).Value;
        if (validations is not null)
        {
            if (root.TryGetProperty("shouldValidate", out var sv) && policySet is not null)
            {
                var expected = sv.GetBoolean();
                if (schema is null)
                {
                    validations.Add(new ValidationOutcome(displayName, group, "policies", expected, false, schemaError));
                }
                else
                {
                    // The corpus was generated by a Cedar version that reported inapplicable scopes as errors (4.13 warns).
                    var result = new PolicyValidator(schema, new PolicyValidatorOptions { InapplicableActionIsError = true }).Validate(policySet);
                    validations.Add(new ValidationOutcome(
                        displayName,
                        group,
                        "policies",
                        expected,
                        result.IsValid,
                        result.IsValid ? null : string.Join("\n  ", result.Errors.Take(5))));
                }
            }
        }

        var outcomes = new List<RequestOutcome>();
        foreach (var request in root.GetProperty("requests").EnumerateArray())
        {
            var description = request.TryGetProperty("description", out var d) ? d.GetString() ?? string.Empty : string.Empty;
            var expectedDecision = request.GetProperty("decision").GetString()!;
            var expectedReason = Sorted(request.GetProperty("reason"));
            var expectedErrors = Sorted(request.GetProperty("errors"));
            string? failure = policyError ?? entityError;
            var actualDecision = "none";
            IReadOnlyList<string> actualReason = [];
            IReadOnlyList<string> actualErrors = [];
            if (failure is null)
            {
                try
                {
                    var action = CedarJson.ParseEntityUid(request.GetProperty("action"));
                    var req = new AuthorizationRequest(
                        CedarJson.ParseEntityUid(request.GetProperty("principal")),
                        action,
                        CedarJson.ParseEntityUid(request.GetProperty("resource")),
                        schema is null
                            ? CedarJson.ParseContext(request.GetProperty("context"))
                            : CedarJson.ParseContext(request.GetProperty("context"), schema, action));
                    if (validations is not null && schema is not null && request.TryGetProperty("validateRequest", out var vr))
                    {
                        var violations = schema.ValidateRequest(req);
                        validations.Add(new ValidationOutcome(
                            displayName,
                            group,
                            description,
                            vr.GetBoolean(),
                            violations.Count == 0,
                            violations.Count == 0 ? null : string.Join("\n  ", violations)));
                    }

                    var response = authorizer!.IsAuthorized(req, store!);
                    actualDecision = response.Decision == Decision.Allow ? "allow" : "deny";
                    actualReason = [.. response.DeterminingPolicyIds.Order(StringComparer.Ordinal)];
                    actualErrors = [.. response.ErroringPolicyIds.Order(StringComparer.Ordinal)];
                }
                catch (CedarJsonException e)
                {
                    failure = "request: " + e.Message;
                }
            }

            outcomes.Add(new RequestOutcome(
                displayName,
                group,
                description,
                expectedDecision,
                expectedReason,
                expectedErrors,
                actualDecision,
                actualReason,
                actualErrors,
                failure));
        }

        return outcomes;
    }

    /// <summary>The report group of a test, from its policy file path (for example <c>tests/ip/policies_1.cedar</c>).</summary>
    public static string GroupOf(string relativePolicyPath)
    {
        var normalized = relativePolicyPath.Replace('\\', '/');
        return Groups.FirstOrDefault(g => normalized.StartsWith(g + "/", StringComparison.Ordinal)) ?? "other";
    }

    /// <summary>Per-group pass counts.</summary>
    public static IEnumerable<(string Group, int Passed, int Total)> Summarize(IEnumerable<RequestOutcome> outcomes) =>
        outcomes.GroupBy(o => o.Group)
            .OrderBy(g => Array.IndexOf(Groups, g.Key) is var i && i < 0 ? int.MaxValue : i)
            .Select(g => (g.Key, g.Count(o => o.Passed), g.Count()));

    /// <summary>A test file given on the command line: an existing path, or a path relative to one of the data roots.</summary>
    /// <exception cref="FileNotFoundException">The file is in none of those places.</exception>
    public string ResolveTestFile(string path) => File.Exists(path) ? Path.GetFullPath(path) : Resolve(path);

    private string DisplayName(string testFile)
    {
        var root = dataRoots.FirstOrDefault(r => testFile.StartsWith(Path.GetFullPath(r) + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        return root is null ? testFile : Path.GetRelativePath(root, testFile);
    }

    private string? TryResolve(string relative, out string path)
    {
        try
        {
            path = Resolve(relative);
            return null;
        }
        catch (FileNotFoundException e)
        {
            path = string.Empty;
            return e.Message;
        }
    }

    private string Resolve(string relative)
    {
        foreach (var root in dataRoots)
        {
            var candidate = Path.Combine(root, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relative} was not found under any data root ({string.Join(", ", dataRoots)}).");
    }

    private static string[] Sorted(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal)];

    private static (PolicySet?, string?) LoadPolicies(string path)
    {
        try
        {
            return (PolicySet.Parse(File.ReadAllText(path)), null);
        }
        catch (CedarParseException e)
        {
            return (null, $"policy parse error in {Path.GetFileName(path)}: {e.Code}: {e.Message}");
        }
    }

    private static (CedarSchema?, string?) LoadSchema(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            return (path.EndsWith(".json", StringComparison.Ordinal) ? CedarSchema.ParseJson(text) : CedarSchema.Parse(text), null);
        }
        catch (CedarSchemaException e)
        {
            return (null, $"schema error in {Path.GetFileName(path)}: {e.Code}: {e.Message}");
        }
    }

    private static (EntityStore?, string?) LoadEntities(string path, CedarSchema? schema)
    {
        try
        {
            var json = File.ReadAllText(path);
            return (schema is null ? CedarJson.ParseEntities(json) : CedarJson.ParseEntities(json, schema), null);
        }
        catch (CedarJsonException e)
        {
            return (null, $"entities error in {Path.GetFileName(path)}: {e.Message}");
        }
    }
}
