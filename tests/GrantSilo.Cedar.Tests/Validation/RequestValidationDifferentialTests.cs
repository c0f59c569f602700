using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using GrantSilo.CedarConformance;
using GrantSilo.Cedar.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.Cedar.Tests.Validation;

/// <summary>Random requests against random schemas are valid or invalid for GrantSilo exactly when they are for cedar-wasm 4.13.0.</summary>
public sealed class RequestValidationDifferentialTests(ITestOutputHelper output)
{
    private const int BatchSize = 1500;

    private static readonly Gen<string> Value = Gen.OneOf(
        "1", "\"s\"", "true", "[1]", "[\"a\"]", "[]", "{\"x\": 1}", "{\"x\": 1, \"y\": \"s\"}", "{\"type\": \"User\", \"id\": \"x\"}",
        "{\"__entity\": {\"type\": \"Doc\", \"id\": \"x\"}}", "\"10.0.0.1\"", "\"bad ip\"", "{\"__extn\": {\"fn\": \"decimal\", \"arg\": \"1.5\"}}",
        "\"2024-01-01\"", "\"1h\"", "[{\"type\": \"User\", \"id\": \"x\"}]", "{\"fn\": \"ip\", \"arg\": \"::1\"}");

    private static readonly Gen<string> Context =
        Gen.Select(Gen.Shuffle(new[] { "a", "b", "owner", "level", "tags" }), Gen.Int[0, 3], Value.Array[3])
            .Select((names, n, values) => "{" + string.Join(", ", Enumerable.Range(0, n).Select(i => $"\"{names[i]}\": {values[i]}")) + "}");

    private static readonly Gen<string> Uid = Gen.Select(Gen.OneOf("User", "Group", "Doc", "Folder", "Robot", "Color"), Gen.OneOf("x", "red", "green"))
        .Select((t, id) => $"{{\"type\": \"{t}\", \"id\": \"{id}\"}}");

    private static readonly Gen<(string Schema, JsonObject Request)> RandomCase =
        Gen.Select(ValidationCaseGenerators.Schema, Uid, Gen.OneOf("read", "write", "admin", "delete"), Uid, Context)
            .Select((schema, p, a, r, c) => (string.Join("\n", schema), new JsonObject
            {
                ["principal"] = JsonNode.Parse(p),
                ["action"] = JsonNode.Parse($"{{\"type\": \"Action\", \"id\": \"{a}\"}}"),
                ["resource"] = JsonNode.Parse(r),
                ["context"] = JsonNode.Parse(c),
            }));

    /// <summary>A request built to fit the schema (types from the action's appliesTo, a context of its declared type), then perhaps broken once.</summary>
    private static readonly Gen<(string Schema, JsonObject Request)> FittingCase =
        Gen.Select(ValidationCaseGenerators.Schema, Gen.Int, Value, (declarations, seed, stray) =>
        {
            var text = string.Join("\n", declarations);
            var schema = CedarSchema.Parse(text);
            var rng = new Random(seed);
            var action = schema.ActionDefinitions.ElementAt(rng.Next(schema.Actions.Count));
            var context = (JsonObject)Fit(action.Context, rng);
            var request = new JsonObject
            {
                ["principal"] = Ref(action.Principals[rng.Next(action.Principals.Length)], schema, rng),
                ["action"] = new JsonObject { ["type"] = "Action", ["id"] = action.Uid.Id },
                ["resource"] = Ref(action.Resources[rng.Next(action.Resources.Length)], schema, rng),
                ["context"] = context,
            };
            switch (rng.Next(6))
            {
                case 0 when context.Count > 0:
                    context.Remove(context.First().Key);
                    break;
                case 1:
                    context["stray"] = JsonNode.Parse(stray);
                    break;
                case 2 when context.Count > 0:
                    context[context.First().Key] = JsonNode.Parse(stray);
                    break;
                case 3:
                    request["principal"] = JsonNode.Parse("{\"type\": \"Folder\", \"id\": \"x\"}");
                    break;
            }

            return (text, request);
        });

    private static readonly Gen<(string Schema, JsonObject Request)> Case = Gen.Frequency((1, RandomCase), (3, FittingCase));

    private static JsonNode Ref(string type, CedarSchema schema, Random rng) => new JsonObject
    {
        ["type"] = type,
        ["id"] = schema.TryGetEntityType(type, out var et) && et.EnumChoices is { } choices ? choices[rng.Next(choices.Length)] : "x",
    };

    /// <summary>A JSON value of the type, written as a request's context would be (entity references without escapes).</summary>
    private static JsonNode Fit(GrantSilo.Cedar.Validation.StaticType type, Random rng) => type.Kind switch
    {
        GrantSilo.Cedar.Validation.TypeKind.Bool => JsonValue.Create(rng.Next(2) == 0),
        GrantSilo.Cedar.Validation.TypeKind.Long => JsonValue.Create(rng.Next(100)),
        GrantSilo.Cedar.Validation.TypeKind.String => JsonValue.Create("s"),
        GrantSilo.Cedar.Validation.TypeKind.Entity => new JsonObject { ["type"] = type.Name, ["id"] = "x" },
        GrantSilo.Cedar.Validation.TypeKind.Set => new JsonArray(type.Element is null ? [] : [Fit(type.Element, rng)]),
        GrantSilo.Cedar.Validation.TypeKind.Record => new JsonObject(type.Attributes
            .Where(a => a.Value.Required || rng.Next(2) == 0)
            .Select(a => KeyValuePair.Create(a.Key, (JsonNode?)Fit(a.Value.Type, rng)))),
        _ => JsonValue.Create(type.Name switch
        {
            "ipaddr" => "10.0.0.1",
            "decimal" => "1.5",
            "datetime" => "2024-01-01",
            _ => "1h",
        }),
    };

    [Fact]
    public void RandomRequests_AreValidExactlyWhenCedarWasmSaysSo()
    {
        var valid = 0;
        Case.Array[BatchSize].Sample(
            batch =>
            {
                var reference = Reference(batch);
                var disagreement = batch
                    .Select((c, i) => (Case: c, Expected: reference[i], Actual: Local(c.Schema, c.Request)))
                    .Where(x => x.Expected.Valid != x.Actual.Valid)
                    .OrderBy(x => x.Case.Schema.Length + x.Case.Request.ToJsonString().Length)
                    .FirstOrDefault();
                Assert.True(
                    disagreement.Case.Schema is null,
                    $"schema:\n{disagreement.Case.Schema}\nrequest: {disagreement.Case.Request?.ToJsonString()}\n  cedar-wasm: {disagreement.Expected}\n  GrantSilo:  {disagreement.Actual}");
                valid += reference.Count(r => r.Valid);
            },
            iter: 1,
            threads: 1,
            print: _ => "(see the message)");

        output.WriteLine($"{valid} of {BatchSize} requests were valid; both engines agree on all");
        Assert.InRange(valid, BatchSize / 50, BatchSize - (BatchSize / 50));
    }

    private static (bool Valid, string Message) Local(string schemaText, JsonObject request)
    {
        if (!CedarSchema.TryParse(schemaText, out var schema, out var error))
        {
            return (false, error!.Message);
        }

        try
        {
            var action = CedarJson.ParseEntityUid(request["action"]!.ToJsonString());
            using var context = JsonDocument.Parse(request["context"]!.ToJsonString());
            var req = new AuthorizationRequest(
                CedarJson.ParseEntityUid(request["principal"]!.ToJsonString()),
                action,
                CedarJson.ParseEntityUid(request["resource"]!.ToJsonString()),
                CedarJson.ParseContext(context.RootElement, schema!, action));
            var violations = schema!.ValidateRequest(req);
            return (violations.Count == 0, string.Join("; ", violations));
        }
        catch (CedarJsonException e)
        {
            return (false, e.Message);
        }
    }

    private static List<(bool Valid, string Message)> Reference(IReadOnlyList<(string Schema, JsonObject Request)> cases)
    {
        var repoRoot = ConformanceRunner.FindRepoRoot(AppContext.BaseDirectory);
        var script = Path.Combine(repoRoot, "tests", "GrantSilo.Cedar.Tests", "oracle", "cedar-request-oracle.cjs");
        var start = new ProcessStartInfo("node", [script]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = repoRoot };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var input = new JsonArray([.. cases.Select(c =>
        {
            var o = (JsonObject)c.Request.DeepClone();
            o["schema"] = c.Schema;
            return (JsonNode)o;
        })]);
        process.StandardInput.Write(input.ToJsonString());
        process.StandardInput.Close();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the request oracle failed ({process.ExitCode}): {stderr.Result}");
        }

        return [.. JsonNode.Parse(stdout.Result)!.AsArray().Select(r => (r!["valid"]!.GetValue<bool>(), r["message"]!.GetValue<string>()))];
    }
}
