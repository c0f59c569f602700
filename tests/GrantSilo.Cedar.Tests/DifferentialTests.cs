using System.Text.Json.Nodes;
using CsCheck;
using GrantSilo.Cedar.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.Cedar.Tests;

/// <summary>Random policies, entities and requests decided by GrantSilo and by @cedar-policy/cedar-wasm must agree.</summary>
public sealed class DifferentialTests(ITestOutputHelper output)
{
    private const int BatchSize = 300;
    private const int Batches = 3;

    [Fact]
    public void RandomCases_AgreeWithReferenceEngine()
    {
        var totals = new int[4];
        CaseGenerators.Case.Array[BatchSize].Sample(
            batch =>
            {
                var disagreement = FirstDisagreement(batch, totals);
                if (disagreement is not null)
                {
                    var minimal = Minimize(disagreement);
                    var json = minimal.ToJson();
                    throw new Xunit.Sdk.XunitException(
                        $"GrantSilo and cedar-wasm disagree.\n  cedar-wasm: {CedarOracle.Decide([json])[0]}\n  GrantSilo:  {CedarOracle.DecideLocally(json)}\nminimal case:\n{CedarOracle.Show(json)}");
                }
            },
            iter: Batches,
            threads: 1,
            print: _ => "(see the minimal case in the message)");

        output.WriteLine($"{totals[0]} cases agreed: {totals[1]} allow, {totals[0] - totals[1] - totals[3]} deny, {totals[3]} rejected input, {totals[2]} with erroring policies");
        Assert.Equal(Batches * BatchSize, totals[0]);
        Assert.True(totals[1] > 0 && totals[2] > 0, "the generator should produce both allows and erroring policies");
    }

    private static DiffCase? FirstDisagreement(IReadOnlyList<DiffCase> cases, int[] totals)
    {
        var json = cases.Select(c => c.ToJson()).ToList();
        var reference = CedarOracle.Decide(json);
        DiffCase? smallest = null;
        for (var i = 0; i < cases.Count; i++)
        {
            var local = CedarOracle.DecideLocally(json[i]);
            if (!local.SameAs(reference[i]))
            {
                if (smallest is null || json[i].ToJsonString().Length < smallest.ToJson().ToJsonString().Length)
                {
                    smallest = cases[i];
                }
            }
            else
            {
                totals[0]++;
                totals[1] += local.Decision == "allow" ? 1 : 0;
                totals[2] += local.Errors.Length > 0 ? 1 : 0;
                totals[3] += local.Failed ? 1 : 0;
            }
        }

        return smallest;
    }

    /// <summary>Greedy shrinking: repeatedly apply the first reduction that still disagrees (one Node run per round).</summary>
    private static DiffCase Minimize(DiffCase failing)
    {
        var current = failing;
        for (var round = 0; round < 200; round++)
        {
            var candidates = current.Reductions().ToList();
            if (candidates.Count == 0)
            {
                break;
            }

            var json = candidates.Select(c => c.ToJson()).ToList();
            var reference = CedarOracle.Decide(json);
            var next = candidates.Where((c, i) => !CedarOracle.DecideLocally(json[i]).SameAs(reference[i])).FirstOrDefault();
            if (next is null)
            {
                break;
            }

            current = next;
        }

        return current;
    }

    [Fact]
    public void Oracle_ReportsKnownDecision()
    {
        var known = new JsonObject
        {
            ["policies"] = "permit(principal, action, resource) when { 1 + 1 == 2 }; forbid(principal, action, resource) when { 1 + true };",
            ["entities"] = new JsonArray(),
            ["principal"] = JsonNode.Parse("""{"type": "User", "id": "a"}"""),
            ["action"] = JsonNode.Parse("""{"type": "Action", "id": "read"}"""),
            ["resource"] = JsonNode.Parse("""{"type": "Doc", "id": "a"}"""),
            ["context"] = new JsonObject(),
        };

        var reference = CedarOracle.Decide([known])[0];

        Assert.Equal(new Outcome("allow", ["policy0"], ["policy1"], false).ToString(), reference.ToString());
        Assert.True(reference.SameAs(CedarOracle.DecideLocally(known)));
    }
}
