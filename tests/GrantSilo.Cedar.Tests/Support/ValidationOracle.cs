using System.Diagnostics;
using System.Text.Json.Nodes;
using GrantSilo.CedarConformance;

namespace GrantSilo.Cedar.Tests.Support;

/// <summary>A validation verdict both engines can produce: whether the schema parses, and which policies have errors.</summary>
internal sealed record Verdict(bool SchemaOk, string[] ErroringPolicies, bool Failed, string Detail = "", string? Json = null)
{
    public bool SameAs(Verdict other) =>
        SchemaOk == other.SchemaOk && Failed == other.Failed && ErroringPolicies.SequenceEqual(other.ErroringPolicies);

    public override string ToString() =>
        !SchemaOk ? "schema rejected" : Failed ? "failure" : $"erroring policies=[{string.Join(",", ErroringPolicies)}]{(Detail.Length == 0 ? string.Empty : "\n    " + Detail)}";
}

/// <summary>Runs cedar-wasm's schema parser and validator (tests/GrantSilo.Cedar.Tests/oracle/cedar-validate-oracle.cjs) on a batch of cases.</summary>
internal static class ValidationOracle
{
    public static IReadOnlyList<Verdict> Check(IReadOnlyList<(string Schema, string? Policies)> cases) =>
        Check([.. cases.Select(c => (c.Schema, c.Policies, (string[]?)null))]);

    /// <summary>Like <see cref="Check(IReadOnlyList{ValueTuple{string, string}})"/>; with a policy list, entry i is `policy{i}` and slotted entries are templates.</summary>
    public static IReadOnlyList<Verdict> Check(IReadOnlyList<(string Schema, string? Policies, string[]? PolicyList)> cases) =>
        Check(cases, json: false);

    /// <summary>Whether each JSON schema text parses, by cedar-wasm.</summary>
    public static IReadOnlyList<Verdict> CheckJsonSchemas(IReadOnlyList<string> schemas) =>
        Check([.. schemas.Select(s => (s, (string?)null, (string[]?)null))], json: true);

    private static IReadOnlyList<Verdict> Check(IReadOnlyList<(string Schema, string? Policies, string[]? PolicyList)> cases, bool json)
    {
        var repoRoot = ConformanceRunner.FindRepoRoot(AppContext.BaseDirectory);
        var script = Path.Combine(repoRoot, "tests", "GrantSilo.Cedar.Tests", "oracle", "cedar-validate-oracle.cjs");
        if (!Directory.Exists(Path.Combine(repoRoot, "node_modules", "@cedar-policy", "cedar-wasm")))
        {
            throw new InvalidOperationException("The reference engine is not installed: run `npm ci` at the repository root (needs @cedar-policy/cedar-wasm).");
        }

        var start = new ProcessStartInfo("node", [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = repoRoot,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var input = new JsonArray([.. cases.Select(c => (JsonNode)new JsonObject
        {
            ["schema"] = c.Schema,
            ["policies"] = c.Policies,
            ["policyList"] = c.PolicyList is null ? null : new JsonArray([.. c.PolicyList.Select(p => (JsonNode)p)]),
            ["json"] = json,
        })]);
        process.StandardInput.Write(input.ToJsonString());
        process.StandardInput.Close();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the validation oracle failed ({process.ExitCode}): {stderr.Result}");
        }

        return [.. JsonNode.Parse(stdout.Result)!.AsArray().Select(r => new Verdict(
            r!["schemaOk"]!.GetValue<bool>(),
            [.. r["errors"]!.AsArray().Select(x => x!.GetValue<string>())],
            r["failure"] is not null,
            r["messages"] is JsonArray m ? string.Join("\n    ", m.Select(x => x!.GetValue<string>())) : r["failure"]?.GetValue<string>() ?? string.Empty,
            r["json"]?.GetValue<string>()))];
    }

    /// <summary>GrantSilo's verdict on the same input; with <paramref name="json"/>, the schema is read from Cedar's JSON format instead.</summary>
    public static Verdict CheckLocally(string schemaText, string? policies, bool json = false)
    {
        CedarSchema? schema;
        if (json ? !CedarSchema.TryParseJson(schemaText, out schema, out _) : !CedarSchema.TryParse(schemaText, out schema, out _))
        {
            return new Verdict(false, [], false);
        }

        if (policies is null)
        {
            return new Verdict(true, [], false);
        }

        PolicySet set;
        try
        {
            set = PolicySet.ParseWithTemplates(policies);
        }
        catch (CedarParseException)
        {
            return new Verdict(true, [], true);
        }

        var result = new PolicyValidator(schema!).Validate(set);
        return new Verdict(
            true,
            [.. result.Errors.Select(e => e.PolicyId).Distinct().Order(StringComparer.Ordinal)],
            false,
            string.Join("\n    ", result.Errors));
    }
}
