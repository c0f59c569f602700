using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrantSilo.CedarConformance;

namespace GrantSilo.Cedar.Tests.Support;

/// <summary>An authorization outcome in a form both engines can produce: a decision with sorted ids, or a failure (parse or input error).</summary>
internal sealed record Outcome(string Decision, string[] Reason, string[] Errors, bool Failed)
{
    public static Outcome Failure { get; } = new("failure", [], [], true);

    public bool SameAs(Outcome other) =>
        Failed == other.Failed && (Failed || (Decision == other.Decision && Reason.SequenceEqual(other.Reason) && Errors.SequenceEqual(other.Errors)));

    public override string ToString() => Failed ? "failure" : $"{Decision} reason=[{string.Join(",", Reason)}] errors=[{string.Join(",", Errors)}]";
}

/// <summary>
/// Runs the reference engine (@cedar-policy/cedar-wasm via tests/GrantSilo.Cedar.Tests/oracle/cedar-oracle.cjs)
/// on a batch of cases in one Node process.
/// </summary>
internal static class CedarOracle
{
    public static IReadOnlyList<Outcome> Decide(IReadOnlyList<JsonObject> cases)
    {
        var repoRoot = ConformanceRunner.FindRepoRoot(AppContext.BaseDirectory);
        var script = Path.Combine(repoRoot, "tests", "GrantSilo.Cedar.Tests", "oracle", "cedar-oracle.cjs");
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
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("Node.js is required for the differential tests: install node and make it available on PATH.", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(new JsonArray([.. cases.Select(c => c.DeepClone())]).ToJsonString());
            process.StandardInput.Close();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"the oracle failed ({process.ExitCode}): {stderr.Result}");
            }

            var results = JsonNode.Parse(stdout.Result)!.AsArray();
            return [.. results.Select(r => r!["failure"] is not null
                ? Outcome.Failure
                : new Outcome(
                    r["decision"]!.GetValue<string>(),
                    [.. r["reason"]!.AsArray().Select(x => x!.GetValue<string>())],
                    [.. r["errors"]!.AsArray().Select(x => x!.GetValue<string>())],
                    false))];
        }
    }

    /// <summary>Runs GrantSilo's engine on one case in the oracle's input format.</summary>
    public static Outcome DecideLocally(JsonObject c)
    {
        PolicySet set;
        try
        {
            set = PolicySet.Parse(c["policies"]!.GetValue<string>());
        }
        catch (CedarParseException)
        {
            return Outcome.Failure;
        }

        try
        {
            var entities = CedarJson.ParseEntities(c["entities"]!.ToJsonString());
            var request = new AuthorizationRequest(
                CedarJson.ParseEntityUid(c["principal"]!.ToJsonString()),
                CedarJson.ParseEntityUid(c["action"]!.ToJsonString()),
                CedarJson.ParseEntityUid(c["resource"]!.ToJsonString()),
                CedarJson.ParseContext(c["context"]!.ToJsonString()));
            var response = new Authorizer(set).IsAuthorized(request, entities);
            return new Outcome(
                response.Decision == Decision.Allow ? "allow" : "deny",
                [.. response.DeterminingPolicyIds.Order(StringComparer.Ordinal)],
                [.. response.ErroringPolicyIds.Order(StringComparer.Ordinal)],
                false);
        }
        catch (CedarJsonException)
        {
            return Outcome.Failure;
        }
    }

    public static string Show(JsonObject c) => c.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
