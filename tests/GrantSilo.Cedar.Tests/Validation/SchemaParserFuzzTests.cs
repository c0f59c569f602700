using CsCheck;
using GrantSilo.Cedar.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.Cedar.Tests.Validation;

/// <summary>
/// The schema parsers never crash or throw anything but <see cref="CedarSchemaException"/>, and on mutated schemas the
/// human-readable parser accepts exactly what cedar-wasm 4.13.0 accepts.
/// </summary>
public sealed class SchemaParserFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Seeds =
    [
        """
        namespace Acme::Docs {
          type Address = { street: String, "zip code"?: __cedar::String };
          @doc("x") entity User, Admin in [Group] = { name: String, age?: Long, home: Address, tags: Set<Set<String>> } tags ipaddr;
          entity Group;
          entity Color enum ["red", "green"];
          action "read" appliesTo { principal: [User, Admin], resource: Group, context: { at: datetime, d?: duration } };
          action write, "delete" in ["read"] appliesTo { principal: User, resource: [Group] };
        }
        """,
        """
        entity Doc = { owner: Person, limit: decimal }; entity Person;
        type Ctx = { depth: Long };
        action view appliesTo { principal: Person, resource: [Doc], context: Ctx };
        action edit in [Action::"view"] appliesTo { principal: [Person], resource: [Doc] };
        """,
    ];

    private static readonly Gen<string> Garbage =
        Gen.Char["entityactionnamespacetypeinappliesToprincipalresourcecontextenumtagsSetLongString{}[]<>=?:;,@()\"\\ _0123456789\n\t\u00e9"]
            .Array[0, 300].Select(a => new string(a));

    private static readonly Gen<string> TokenSoup =
        Gen.OneOf(
            "entity", "action", "namespace", "type", "in", "appliesTo", "principal", "resource", "context", "enum", "tags", "Set", "<", ">",
            "{", "}", "[", "]", "=", "?", ":", ";", ",", "::", "@doc(\"x\")", "A", "B", "Long", "String", "Bool", "\"s\"", "__cedar", "ipaddr")
            .Array[0, 60].Select(a => string.Join(" ", a));

    private static readonly Gen<Func<string, string>> Mutation =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2000], Gen.Int[0, 2000],
            Gen.OneOf("{", "}", "[", "]", "<", ">", "?", ":", ";", ",", "::", "=", "\"", "@a", " in ", " entity A; ", " type ", " Set<Long> ", " tags ", " enum ", " __cedar::", "//", "\n", string.Empty),
            (kind, a, b, insert) => (Func<string, string>)(text =>
            {
                var i = a % (text.Length + 1);
                var j = Math.Min(text.Length, i + (b % 10));
                return kind switch
                {
                    0 => text.Remove(i, j - i),
                    1 => text.Insert(i, insert),
                    2 => text[..i] + text[i..j] + text[i..],
                    _ => text[..i] + insert + text[j..],
                };
            }));

    private static readonly Gen<string> Mutated =
        Gen.Select(Gen.OneOf(Seeds), Gen.Frequency((3, Mutation.Array[1]), (1, Mutation.Array[2, 3])), (seed, mutations) => mutations.Aggregate(seed, (text, m) => m(text)));

    private static void ParsesOrFailsWithTypedError(string text)
    {
        try
        {
            var schema = CedarSchema.Parse(text);

            // Whatever parses must also validate without throwing.
            var result = new PolicyValidator(schema).Validate(PolicySet.Parse("permit (principal, action, resource) when { principal has a && principal.a == 1 };"));
            Assert.NotNull(result);
        }
        catch (CedarSchemaException e)
        {
            Assert.InRange(e.Position.Offset, 0, text.Length);
            Assert.True(Enum.IsDefined(e.Code));
        }
    }

    [Fact]
    public void Seeds_AreValidSchemas()
    {
        Assert.All(Seeds, s => Assert.NotEmpty(CedarSchema.Parse(s).EntityTypes));
    }

    [Fact]
    public void RandomCharacters_OnlyEverProduceTypedSchemaErrors() => Garbage.Sample(ParsesOrFailsWithTypedError, iter: 10_000);

    [Fact]
    public void RandomTokenSequences_OnlyEverProduceTypedSchemaErrors() => TokenSoup.Sample(ParsesOrFailsWithTypedError, iter: 10_000);

    [Fact]
    public void MutatedSchemas_OnlyEverProduceTypedSchemaErrors() => Mutated.Sample(ParsesOrFailsWithTypedError, iter: 10_000);

    [Fact]
    public void RandomJson_OnlyEverProducesTypedSchemaErrors() =>
        Gen.OneOf(
            """{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {"x": {"type": "Set"}}}}}}}""",
            """{"N": {"entityTypes": {}, "actions": {"a": {"memberOf": [{"id": "a"}]}}}}""",
            """{"N": {"commonTypes": {"T": {"type": "T"}}, "entityTypes": {}, "actions": {}}}""",
            """[1, 2]""",
            """{"": {"entityTypes": {"A": {"enum": []}}}}""",
            """{"": {"actions": {"a": {"appliesTo": {"principalTypes": ["B"]}}}}}""")
        .Select(Mutation, (json, m) => m(json))
        .Sample(json =>
        {
            try
            {
                CedarSchema.ParseJson(json);
            }
            catch (CedarSchemaException e)
            {
                Assert.True(Enum.IsDefined(e.Code));
            }
        }, iter: 5_000);

    [Fact]
    public void MutatedJsonSchemas_AreAcceptedLikeCedarWasm()
    {
        // Seeds in Cedar's JSON format, as cedar-wasm translates the human-readable seeds.
        var seeds = ValidationOracle.Check([.. Seeds.Select(s => (s, (string?)null, (string[]?)null))]).Select(v => v.Json!).ToArray();
        var jsonMutation = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 4000], Gen.Int[0, 4000],
            Gen.OneOf("\"required\": false, ", "\"type\": \"Long\", ", "\"x\": {}, ", "\"Set\"", "\"Record\"", "\"Entity\"", "\"EntityOrCommon\"", "[]", "{}", "null", ",", "\"memberOf\": [], ", "\"__cedar::Long\"", string.Empty),
            (kind, a, b, insert) => (Func<string, string>)(text =>
            {
                var i = a % (text.Length + 1);
                var j = Math.Min(text.Length, i + (b % 10));
                return kind switch
                {
                    0 => text.Remove(i, j - i),
                    1 => text.Insert(i, insert),
                    2 => text[..i] + text[i..j] + text[i..],
                    _ => text[..i] + insert + text[j..],
                };
            }));
        var texts = Gen.Select(Gen.OneOf(seeds), jsonMutation, (seed, m) => m(seed)).Array[1500];
        var accepted = 0;
        texts.Sample(
            batch =>
            {
                var reference = ValidationOracle.CheckJsonSchemas(batch);
                var disagreement = batch
                    .Select((text, i) => (Text: text, Expected: reference[i].SchemaOk, Actual: CedarSchema.TryParseJson(text, out _, out _)))
                    .Where(x => x.Expected != x.Actual)
                    .OrderBy(x => x.Text.Length)
                    .FirstOrDefault();
                Assert.True(disagreement.Text is null, $"{disagreement.Text}\n  cedar-wasm accepts: {disagreement.Expected}\n  GrantSilo accepts:  {disagreement.Actual}");
                accepted += reference.Count(r => r.SchemaOk);
            },
            iter: 1,
            threads: 1,
            print: _ => "(see the message)");

        output.WriteLine($"{accepted} of 1500 JSON texts were valid schemas; the rest were rejected by both engines");
        Assert.InRange(accepted, 30, 1470);
    }

    [Fact]
    public void KeysNamedTwice_AreReadLikeCedarWasm()
    {
        // What a JSON object with a key twice means, at every level of a schema: found by the fuzzing above (an attribute
        // declared first as {} and then as a type, which Cedar accepts: it reads the last).
        string[] texts =
        [
            """{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {"d": {}, "d": {"type": "Long"}}}}}, "actions": {}}}""",
            """{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {"d": {"type": "Long"}, "d": {}}}}}, "actions": {}}}""",
            """{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {"d": {"type": "Long"}, "d": {"type": "String"}}}}}, "actions": {}}}""",
            """{"": {"entityTypes": {"A": {}, "A": {"memberOfTypes": []}}, "actions": {}}}""",
            """{"": {"entityTypes": {"A": {"memberOfTypes": ["B"]}, "A": {}}, "actions": {}}}""",
            """{"": {"commonTypes": {"T": {"type": "Long"}, "T": {"type": "String"}}, "entityTypes": {}, "actions": {}}}""",
            """{"": {"entityTypes": {}, "actions": {"a": {}, "a": {"appliesTo": {"principalTypes": [], "resourceTypes": []}}}}}""",
            """{"": {"entityTypes": {}, "actions": {}}, "": {"entityTypes": {"A": {}}, "actions": {}}}""",
            """{"": {"entityTypes": {"A": {"shape": {"type": "Long", "type": "Record", "attributes": {}}}}, "actions": {}}}""",
            """{"": {"entityTypes": {"A": {}}, "actions": {"a": {"appliesTo": {"principalTypes": ["A"], "principalTypes": [], "resourceTypes": ["A"]}}}}}""",
            """{"": {"entityTypes": {}, "entityTypes": {"A": {}}, "actions": {}}}""",
        ];
        var reference = ValidationOracle.CheckJsonSchemas(texts);
        var disagreements = texts.Where((text, i) => reference[i].SchemaOk != CedarSchema.TryParseJson(text, out _, out _))
            .Select(text => $"{text} (cedar-wasm accepts: {reference[Array.IndexOf(texts, text)].SchemaOk})").ToList();
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }

    [Fact]
    public void DeeplyNestedTypes_GiveTypedErrorNotStackOverflow()
    {
        var text = "entity A = { a: " + string.Concat(Enumerable.Repeat("Set<", 100_000)) + "Long" + new string('>', 100_000) + " };";

        Assert.Throws<CedarSchemaException>(() => CedarSchema.Parse(text));
    }

    [Fact]
    public void MutatedAndRandomSchemas_AreAcceptedLikeCedarWasm()
    {
        const int batchSize = 2000;
        var accepted = 0;
        Gen.Frequency((6, Mutated), (1, TokenSoup)).Array[batchSize].Sample(
            batch =>
            {
                var reference = ValidationOracle.Check([.. batch.Select(t => (t, (string?)null))]);
                var disagreement = batch
                    .Select((text, i) => (Text: text, Expected: reference[i], Actual: ValidationOracle.CheckLocally(text, null)))
                    .Where(x => !x.Actual.SameAs(x.Expected))
                    .OrderBy(x => x.Text.Length)
                    .FirstOrDefault();
                Assert.True(disagreement.Text is null, $"{disagreement.Text}\n  cedar-wasm: {disagreement.Expected}\n  GrantSilo:  {disagreement.Actual}");
                accepted += reference.Count(r => r.SchemaOk);
            },
            iter: 1,
            threads: 1,
            print: _ => "(see the message)");

        output.WriteLine($"{accepted} of {batchSize} texts were valid schemas; the rest were rejected by both engines");
        Assert.InRange(accepted, batchSize / 50, batchSize - (batchSize / 50));
    }
}
