using CsCheck;
using GrantSilo.Cedar.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.Cedar.Tests.Validation;

/// <summary>
/// Random schemas, policies and templates validated by GrantSilo and by cedar-wasm 4.13.0 must get the same verdicts, with the schema
/// read from the human-readable format and from cedar-wasm's JSON translation of it.
/// </summary>
public sealed class ValidatorDifferentialTests(ITestOutputHelper output)
{
    private const int BatchSize = 400;
    private const int Batches = 3;

    [Fact]
    public void RandomSchemasAndPolicies_ValidateAsCedarWasmDoes()
    {
        int agreed = 0, valid = 0, invalid = 0, namespaced = 0, namespacedValid = 0;
        ValidationCase? example = null;
        ValidationCaseGenerators.Case.Array[BatchSize].Sample(
            batch =>
            {
                var reference = ValidationOracle.Check([.. batch.Select(c => (c.Schema, (string?)c.PolicyText, (string[]?)c.PolicyList))]);
                ValidationCase? smallest = null;
                for (var i = 0; i < batch.Length; i++)
                {
                    var local = ValidationOracle.CheckLocally(batch[i].Schema, batch[i].PolicyText);
                    var fromJson = reference[i].Json is { } json ? ValidationOracle.CheckLocally(json, batch[i].PolicyText, json: true) : local;
                    if (!local.SameAs(reference[i]) || !fromJson.SameAs(reference[i]))
                    {
                        if (smallest is null || batch[i].PolicyText.Length + batch[i].Schema.Length < smallest.PolicyText.Length + smallest.Schema.Length)
                        {
                            smallest = batch[i];
                        }

                        continue;
                    }

                    agreed++;
                    namespaced += batch[i].Namespaced ? 1 : 0;
                    if (batch[i].Namespaced && local.SchemaOk && !local.Failed && local.ErroringPolicies.Length == 0)
                    {
                        namespacedValid++;
                        example ??= batch[i];
                    }

                    if (local.SchemaOk && !local.Failed)
                    {
                        valid += local.ErroringPolicies.Length == 0 ? 1 : 0;
                        invalid += local.ErroringPolicies.Length > 0 ? 1 : 0;
                    }
                }

                if (smallest is not null)
                {
                    var minimal = Minimize(smallest);
                    throw new Xunit.Sdk.XunitException(
                        $"GrantSilo and cedar-wasm disagree.\n  cedar-wasm: {ValidationOracle.Check([(minimal.Schema, (string?)minimal.PolicyText, (string[]?)minimal.PolicyList)])[0]}\n" +
                        $"  GrantSilo:  {ValidationOracle.CheckLocally(minimal.Schema, minimal.PolicyText)}\nschema:\n{minimal.Schema}\npolicies:\n{minimal.PolicyText}\n" +
                        $"JSON schema from cedar-wasm: {ValidationOracle.Check([(minimal.Schema, (string?)minimal.PolicyText, (string[]?)minimal.PolicyList)])[0].Json}");
                }
            },
            iter: Batches,
            threads: 1,
            print: _ => "(see the minimal case in the message)");

        output.WriteLine($"{agreed} cases agreed: {valid} valid, {invalid} with validation errors; {namespaced} in a namespace ({namespacedValid} valid)");
        output.WriteLine($"a valid namespaced case:\n{example?.Schema}\n{example?.PolicyText}");
        Assert.Equal(Batches * BatchSize, agreed);
        Assert.True(valid > BatchSize / 10 && invalid > BatchSize / 10, $"the generator should produce both valid ({valid}) and invalid ({invalid}) policy sets");
        Assert.True(namespacedValid > 0, "the generator should produce valid namespaced cases");
    }

    private static bool Agrees(ValidationCase c, Verdict reference) =>
        ValidationOracle.CheckLocally(c.Schema, c.PolicyText).SameAs(reference) &&
        (reference.Json is null || ValidationOracle.CheckLocally(reference.Json, c.PolicyText, json: true).SameAs(reference));

    /// <summary>Greedy shrinking: repeatedly take the first reduction that still disagrees (one Node run per round).</summary>
    private static ValidationCase Minimize(ValidationCase failing)
    {
        var current = failing;
        for (var round = 0; round < 300; round++)
        {
            var candidates = current.Reductions().Take(400).ToList();
            if (candidates.Count == 0)
            {
                break;
            }

            var reference = ValidationOracle.Check([.. candidates.Select(c => (c.Schema, (string?)c.PolicyText, (string[]?)c.PolicyList))]);
            var next = candidates.Where((c, i) => !Agrees(c, reference[i])).FirstOrDefault();
            if (next is null)
            {
                break;
            }

            current = next;
        }

        return current;
    }
}
