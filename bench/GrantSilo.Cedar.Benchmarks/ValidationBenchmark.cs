using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace GrantSilo.Cedar.Benchmarks;

/// <summary>
/// Validation and schema parsing against cedar-wasm, and evaluation with schema-typed entities against evaluation
/// without a schema, all in the same run.
/// </summary>
internal static class ValidationBenchmark
{
    public static bool Run(string repoRoot, Workload workload, AuthorizationRequest[] requests, int decisionIterations)
    {
        var shipped = File.ReadAllText(Path.Combine(repoRoot, "src", "GrantSilo.Grains", "Policies", "default.cedar"));
        var policyText = shipped + "\n" + ValidationWorkload.GeneratedPolicies(1000, seed: 7);
        var schemaText = ValidationWorkload.GrantSiloSchema;

        // GrantSilo: the publish path parses the policy text and validates it; the schema is parsed once per version.
        var schema = CedarSchema.Parse(schemaText);
        var validator = new PolicyValidator(schema);
        var set = PolicySet.Parse(policyText, PolicyIdSource.IdAnnotation);
        var result = validator.Validate(set);

        // Warm up for 3 s, so tiered compilation has finished, before timing; then the two GrantSilo measurements
        // alternate so load drift on the shared machine hits both.
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed < TimeSpan.FromSeconds(3))
        {
            new PolicyValidator(CedarSchema.Parse(schemaText)).Validate(PolicySet.Parse(policyText, PolicyIdSource.IdAnnotation));
        }

        var validateSamples = new List<double>();
        var endToEndSamples = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            validateSamples.Add(Median(1, () => validator.Validate(set)));
            endToEndSamples.Add(Median(1, () => new PolicyValidator(CedarSchema.Parse(schemaText)).Validate(PolicySet.Parse(policyText, PolicyIdSource.IdAnnotation))));
        }

        var validateOnly = validateSamples.Order().ElementAt(validateSamples.Count / 2);
        var parseAndValidate = endToEndSamples.Order().ElementAt(endToEndSamples.Count / 2);
        var parseSchema = Median(5000, () => CedarSchema.Parse(schemaText));

        var inputPath = Path.Combine(Path.GetTempPath(), $"grantsilo-validate-bench-{Environment.ProcessId}.json");
        File.WriteAllText(inputPath, new JsonObject
        {
            ["schema"] = schemaText,
            ["policies"] = policyText,
            ["validateIterations"] = 15,
            ["parseIterations"] = 300,
        }.ToJsonString());
        var script = Path.Combine(repoRoot, "bench", "GrantSilo.Cedar.Benchmarks", "cedar-wasm-validate-bench.cjs");
        var node = Process.Start(new ProcessStartInfo("node", [script, inputPath]) { RedirectStandardOutput = true, WorkingDirectory = repoRoot })
            ?? throw new InvalidOperationException("node did not start");
        var output = node.StandardOutput.ReadToEnd();
        node.WaitForExit();
        File.Delete(inputPath);
        if (node.ExitCode != 0)
        {
            Console.Error.WriteLine("cedar-wasm validation benchmark failed; run `npm ci` at the repository root.");
            return false;
        }

        var wasm = JsonNode.Parse(output)!;
        var jsonSchema = wasm["json"]!.GetValue<string>();
        var parseJsonSchema = Median(5000, () => CedarSchema.ParseJson(jsonSchema));
        var wasmValidate = wasm["validateNs"]!.GetValue<double>();
        var wasmParse = wasm["parseSchemaNs"]!.GetValue<double>();
        var wasmParseJson = wasm["parseJsonSchemaNs"]!.GetValue<double>();
        var sameVerdict = result.Errors.Count == wasm["errors"]!.GetValue<int>();

        Console.WriteLine();
        Console.WriteLine($"validation workload: GrantSilo schema proposal ({schema.EntityTypes.Count} entity types, {schema.Actions.Count} actions), shipped policy set + 1,000 generated = {set.Policies.Count} policies");
        Console.WriteLine($"verdicts: GrantSilo {result.Errors.Count} errors, cedar-wasm {wasm["errors"]} errors ({(sameVerdict ? "agree" : "DISAGREE")})");
        Console.WriteLine($"GrantSilo  validate (parsed set):            {Ms(validateOnly),9:F2} ms");
        Console.WriteLine($"GrantSilo  parse schema + policies, validate: {Ms(parseAndValidate),9:F2} ms");
        Console.WriteLine($"cedar-wasm {wasm["version"]} validate (parses both):  {Ms(wasmValidate),9:F2} ms");
        Console.WriteLine($"ratio validate (cedar-wasm / GrantSilo, both parsing): {wasmValidate / parseAndValidate:F1}x   (vs validate only: {wasmValidate / validateOnly:F1}x)");
        Console.WriteLine($"schema parse, human-readable: GrantSilo {parseSchema / 1000.0:F1} us   cedar-wasm {wasmParse / 1000.0:F1} us   ratio {wasmParse / parseSchema:F1}x");
        Console.WriteLine($"schema parse, JSON:           GrantSilo {parseJsonSchema / 1000.0:F1} us   cedar-wasm {wasmParseJson / 1000.0:F1} us   ratio {wasmParseJson / parseJsonSchema:F1}x");

        return sameVerdict & EvaluationWithSchema(workload, requests, decisionIterations);
    }

    /// <summary>Decisions with entities parsed through the schema vs without, in alternating slices; the decisions must be identical.</summary>
    private static bool EvaluationWithSchema(Workload workload, AuthorizationRequest[] requests, int iterations)
    {
        var authorizer = new Authorizer(PolicySet.Parse(Workload.Policies));
        var schema = CedarSchema.Parse(ValidationWorkload.DecisionWorkloadSchema);
        var plain = CedarJson.ParseEntities(workload.Entities.ToJsonString());
        var typed = CedarJson.ParseEntities(workload.Entities.ToJsonString(), schema);
        var validation = new PolicyValidator(schema).Validate(authorizer.PolicySet);
        var same = requests.All(r =>
        {
            var a = authorizer.IsAuthorized(r, plain);
            var b = authorizer.IsAuthorized(r, typed);
            return a.Decision == b.Decision && a.DeterminingPolicyIds.SequenceEqual(b.DeterminingPolicyIds);
        });
        var requestsValid = requests.Count(r => schema.ValidateRequest(r).Count == 0);

        const int Slice = 20_000;
        long plainTicks = 0, typedTicks = 0, plainCount = 0, typedCount = 0;
        for (var round = 0; plainCount < iterations; round++)
        {
            foreach (var (store, isTyped) in round % 2 == 0 ? new[] { (plain, false), (typed, true) } : [(typed, true), (plain, false)])
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < Slice; i++)
                {
                    authorizer.IsAuthorized(requests[i % requests.Length], store);
                }

                var elapsed = Stopwatch.GetTimestamp() - start;
                if (isTyped)
                {
                    typedTicks += elapsed;
                    typedCount += Slice;
                }
                else
                {
                    plainTicks += elapsed;
                    plainCount += Slice;
                }
            }
        }

        var plainNs = plainTicks * (1e9 / Stopwatch.Frequency) / plainCount;
        var typedNs = typedTicks * (1e9 / Stopwatch.Frequency) / typedCount;
        Console.WriteLine();
        Console.WriteLine($"evaluation with a schema: decision workload policies {(validation.IsValid ? "validate" : "DO NOT validate")} against its schema; {requestsValid}/{requests.Length} requests conform; decisions {(same ? "identical" : "DIFFER")}");
        Console.WriteLine($"mean decision, entities parsed without schema {plainNs:F0} ns, with schema {typedNs:F0} ns   ratio (with/without) {typedNs / plainNs:F2}x");
        return same && validation.IsValid && requestsValid == requests.Length;
    }

    private static double Median(int n, Action action)
    {
        for (var i = 0; i < Math.Min(3, n); i++)
        {
            action();
        }

        var samples = new double[n];
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            samples[i] = (Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency);
        }

        Array.Sort(samples);
        return samples[n / 2];
    }

    private static double Ms(double ns) => ns / 1e6;
}
