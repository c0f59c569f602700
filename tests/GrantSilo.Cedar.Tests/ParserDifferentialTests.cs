using System.Text.Json.Nodes;
using CsCheck;
using GrantSilo.Cedar.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.Cedar.Tests;

/// <summary>On mutated and random policy text, GrantSilo accepts exactly what cedar-wasm accepts, and decides the same.</summary>
public sealed class ParserDifferentialTests(ITestOutputHelper output)
{
    private const int BatchSize = 1000;

    [Fact]
    public void MutatedAndRandomPolicies_AreAcceptedAndDecidedLikeReferenceEngine()
    {
        var accepted = 0;
        var texts = Gen.Frequency((5, ParserFuzzTests.Mutated), (1, ParserFuzzTests.TokenSoup));
        texts.Array[BatchSize].Sample(
            batch =>
            {
                var cases = batch.Select(text => new JsonObject
                {
                    ["policies"] = text,
                    ["entities"] = new JsonArray(),
                    ["principal"] = JsonNode.Parse("""{"type": "User", "id": "a"}"""),
                    ["action"] = JsonNode.Parse("""{"type": "Action", "id": "r"}"""),
                    ["resource"] = JsonNode.Parse("""{"type": "Doc", "id": "d"}"""),
                    ["context"] = new JsonObject(),
                }).ToList();
                var reference = CedarOracle.Decide(cases);
                var disagreement = cases
                    .Select((c, i) => (Text: c["policies"]!.GetValue<string>(), Expected: reference[i], Actual: CedarOracle.DecideLocally(c)))
                    .Where(x => !x.Actual.SameAs(x.Expected))
                    .OrderBy(x => x.Text.Length)
                    .FirstOrDefault();
                Assert.True(disagreement.Text is null, $"{disagreement.Text}\n  cedar-wasm: {disagreement.Expected}\n  GrantSilo:  {disagreement.Actual}");
                accepted += reference.Count(r => !r.Failed);
            },
            iter: 1,
            threads: 1,
            print: _ => "(see the message)");

        output.WriteLine($"{accepted} of {BatchSize} texts were valid policies; the rest were rejected by both engines");
        Assert.InRange(accepted, BatchSize / 40, BatchSize - (BatchSize / 40));
    }
}
