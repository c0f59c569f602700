using System.Text.Json.Nodes;
using CsCheck;

namespace GrantSilo.Cedar.Tests.Support;

internal sealed record GenPolicy(string Effect, string Principal, string Action, string Resource, string[] Conditions)
{
    public override string ToString() =>
        $"{Effect} (principal{Principal}, action{Action}, resource{Resource}){string.Concat(Conditions.Select(c => "\n  " + c))};";
}

internal sealed record GenEntity(string Type, string Id, (string Name, string Json)[] Attributes, string[] Parents, (string Name, string Json)[] Tags)
{
    public JsonNode ToJson() => JsonNode.Parse(
        $$"""{"uid": {{Uid(Type, Id)}}, "attrs": {{Object(Attributes)}}, "parents": [{{string.Join(", ", Parents)}}], "tags": {{Object(Tags)}}}""")!;

    public static string Uid(string type, string id) => $$"""{"type": "{{type}}", "id": "{{id}}"}""";

    public static string Object((string Name, string Json)[] members) =>
        "{" + string.Join(", ", members.Select(m => $"\"{m.Name}\": {m.Json}")) + "}";
}

/// <summary>A differential test case: policies, entities and one request, in the reference engine's JSON input format.</summary>
internal sealed record DiffCase(GenPolicy[] Policies, GenEntity[] Entities, string Principal, string Action, string Resource, (string Name, string Json)[] Context)
{
    public JsonObject ToJson() => new()
    {
        ["policies"] = string.Join("\n", Policies.Select(p => p.ToString())),
        ["entities"] = new JsonArray([.. Entities.Select(e => e.ToJson())]),
        ["principal"] = JsonNode.Parse(Principal),
        ["action"] = JsonNode.Parse(Action),
        ["resource"] = JsonNode.Parse(Resource),
        ["context"] = JsonNode.Parse(GenEntity.Object(Context)),
    };

    /// <summary>Smaller variants of this case, for shrinking a disagreement to a minimal example.</summary>
    public IEnumerable<DiffCase> Reductions()
    {
        for (var i = 0; i < Policies.Length && Policies.Length > 1; i++)
        {
            yield return this with { Policies = [.. Policies.Where((_, j) => j != i)] };
        }

        for (var i = 0; i < Policies.Length; i++)
        {
            var p = Policies[i];
            for (var c = 0; c < p.Conditions.Length; c++)
            {
                var reduced = p with { Conditions = [.. p.Conditions.Where((_, j) => j != c)] };
                yield return this with { Policies = [.. Policies.Select((q, j) => j == i ? reduced : q)] };
            }

            if (p.Principal.Length + p.Action.Length + p.Resource.Length > 0)
            {
                var unscoped = p with { Principal = string.Empty, Action = string.Empty, Resource = string.Empty };
                yield return this with { Policies = [.. Policies.Select((q, j) => j == i ? unscoped : q)] };
            }
        }

        for (var i = 0; i < Entities.Length; i++)
        {
            yield return this with { Entities = [.. Entities.Where((_, j) => j != i)] };
        }

        for (var i = 0; i < Entities.Length; i++)
        {
            var e = Entities[i];
            for (var a = 0; a < e.Attributes.Length; a++)
            {
                var reduced = e with { Attributes = [.. e.Attributes.Where((_, j) => j != a)] };
                yield return this with { Entities = [.. Entities.Select((q, j) => j == i ? reduced : q)] };
            }

            if (e.Parents.Length > 0 || e.Tags.Length > 0)
            {
                var bare = e with { Parents = [], Tags = [] };
                yield return this with { Entities = [.. Entities.Select((q, j) => j == i ? bare : q)] };
            }
        }

        for (var i = 0; i < Context.Length; i++)
        {
            yield return this with { Context = [.. Context.Where((_, j) => j != i)] };
        }
    }
}

/// <summary>CsCheck generators for random Cedar policies, entities and requests over a small shared vocabulary.</summary>
internal static class CaseGenerators
{
    private static readonly string[] AttributeNames = ["n", "s", "flag", "owner", "tags", "rec", "ip", "d", "t", "dur", "groups"];

    // JSON integers stay within 2^53: the oracle passes JSON through JavaScript numbers, which cannot carry larger ones.
    // 64-bit literals are exercised through policy text instead, and the JSON loader's 64-bit reading by the corpus and JsonTests.
    private static readonly Gen<string> LongJson = Gen.OneOf("0", "1", "-1", "7", "9007199254740991", "-9007199254740991", "4503599627370496");
    private static readonly Gen<string> StringJson = Gen.OneOf("\"a\"", "\"\"", "\"ab\"", "\"a*b\"", "\"ba\"");
    private static readonly Gen<string> BoolJson = Gen.OneOf("true", "false");
    private static readonly Gen<string> EntityJson = Gen.OneOf("User", "Group", "Doc", "NS::User").Select(Gen.OneOf("a", "b", "c"), (t, i) => $$"""{"__entity": {{GenEntity.Uid(t, i)}}}""");
    private static readonly Gen<string> IpJson = Gen.OneOf("10.0.0.1", "10.0.0.0/8", "127.0.0.1", "::1", "ff02::1", "192.168.1.0/24").Select(Extension("ip"));
    private static readonly Gen<string> DecimalJson = Gen.OneOf("1.5", "-0.25", "0.0", "922337203685477.5807").Select(Extension("decimal"));
    private static readonly Gen<string> DatetimeJson = Gen.OneOf("2024-01-01", "1969-12-31T23:59:59Z", "2024-06-01T12:00:00+0130").Select(Extension("datetime"));
    private static readonly Gen<string> DurationJson = Gen.OneOf("1h", "-1d2h", "0ms", "90m").Select(Extension("duration"));

    private static readonly Gen<string> ScalarJson = Gen.OneOf(LongJson, StringJson, BoolJson, EntityJson, IpJson, DecimalJson, DatetimeJson, DurationJson);

    private static readonly Gen<string> ValueJson = Gen.Frequency(
        (6, ScalarJson),
        (1, Gen.OneOf(StringJson, LongJson, EntityJson).Array[0, 3].Select(a => "[" + string.Join(", ", a) + "]")),
        (1, LongJson.Select(StringJson, ScalarJson, (x, s, v) => $$"""{"x": {{x}}, "s": {{s}}, "v": {{v}}}""")),
        (1, ScalarJson.Select(ScalarJson, (a, b) => "{\"x\": {\"y\": " + a + ", \"z\": [" + b + "]}}")));

    // Each attribute name usually holds "its" type, so well-typed policies are satisfied often; sometimes any type.
    private static readonly Gen<(string Name, string Json)> Member = Gen.OneOf(
        Typed("n", LongJson),
        Typed("s", StringJson),
        Typed("flag", BoolJson),
        Typed("owner", EntityJson),
        Typed("tags", StringJson.Array[0, 3].Select(a => "[" + string.Join(", ", a) + "]")),
        Typed("rec", LongJson.Select(StringJson, (x, str) => $$"""{"x": {{x}}, "s": {{str}}}""")),
        Typed("ip", IpJson),
        Typed("d", DecimalJson),
        Typed("t", DatetimeJson),
        Typed("dur", DurationJson),
        Typed("groups", Gen.OneOf("a", "b", "c").Array[0, 3].Select(a => "[" + string.Join(", ", a.Select(id => "{\"__entity\": " + GenEntity.Uid("Group", id) + "}")) + "]")));

    private static readonly Gen<(string Name, string Json)[]> Members =
        Member.Array[0, 6].Select(a => a.DistinctBy(m => m.Name).ToArray());

    // Well-typed conditions over the shared vocabulary: these make allows and forbids common.
    private static readonly Gen<string> TypedCondition = Gen.OneOf(
        Gen.OneOf("principal", "resource", "context").Select(Gen.OneOf("0", "1", "7"), Gen.OneOf("<", "<=", "==", ">", "!="), (v, n, op) => $"{v}.n {op} {n}"),
        Gen.OneOf("principal", "resource", "context").Select(v => $"{v}.flag"),
        Gen.OneOf("principal", "resource", "context").Select(Gen.OneOf(AttributeNames), (v, a) => $"{v} has {a}"),
        Gen.OneOf("resource.owner == principal", "principal in Group::\"a\"", "principal in resource", "resource in Group::\"b\"",
            "context.tags.contains(\"a\")", "principal.tags.containsAny([\"a\", \"b\"])", "context.ip.isInRange(ip(\"10.0.0.0/8\"))",
            "principal.d.lessThan(decimal(\"1.0\"))", "context.t < datetime(\"2024-03-01\")", "principal.dur.toHours() >= 1",
            "principal.s like \"a*\"", "principal.rec.x > 0", "principal has rec.x && principal.rec.x == 1", "principal.hasTag(\"n\")",
            "principal.getTag(\"s\") == \"a\"", "action in Action::\"all\"", "context.owner is User", "principal in context.groups",
            "principal in principal.groups", "resource.groups.containsAll(principal.groups)", "context.owner in principal.groups",
            "principal.rec has x.y", "principal.rec.x.y == 1", "context.owner is NS::User", "resource.owner in Group::\"c\""));

    // Leaves of the expression language.
    private static readonly Gen<string> Leaf = Gen.OneOf(
        Gen.OneOf("0", "1", "-1", "7", "9223372036854775807", "-9223372036854775808", "4611686018427387904"),
        Gen.OneOf("\"a\"", "\"\"", "\"ab\"", "\"a*b\"", "\"\\u{61}\"", "\"\\x61b\"", "\"\u00e9\\n\\\"\"", "\"\\u{1F600}\""),
        Gen.OneOf("true", "false"),
        Gen.OneOf("principal", "action", "resource", "context"),
        Gen.OneOf("User::\"a\"", "User::\"b\"", "Group::\"a\"", "Group::\"c\"", "Doc::\"a\"", "Action::\"read\"", "Action::\"all\""),
        Gen.OneOf("principal", "resource", "context").Select(Gen.OneOf(AttributeNames), (v, a) => $"{v}.{a}"),
        Gen.OneOf("principal", "resource", "context").Select(Gen.OneOf(AttributeNames), (v, a) => $"{v}[\"{a}\"]"),
        Gen.OneOf(
            "ip(\"10.0.0.1\")", "ip(\"10.0.0.0/8\")", "ip(\"::1\")", "ip(\"bad\")", "decimal(\"1.5\")", "decimal(\"-0.25\")",
            "decimal(\"1.23456\")", "datetime(\"2024-01-01\")", "datetime(\"2024-01-01T10:00:00Z\")", "duration(\"1h\")", "duration(\"-1d2h\")",
            "[]", "[1, 2]", "[\"a\", \"b\"]", "[User::\"a\", Group::\"a\"]", "{x: 1, s: \"a\"}", "{}"));

    private static readonly Gen<string>[] ExprByDepth = BuildExpressions(3);

    public static Gen<DiffCase> Case { get; } =
        Gen.Select(
            Policy.Array[1, 4],
            Entities,
            Gen.OneOf(Uid("User", "a"), Uid("User", "b"), Uid("User", "c"), Uid("User", "zz"), Uid("Group", "a")),
            Gen.OneOf(Uid("Action", "read"), Uid("Action", "write"), Uid("Action", "all"), Uid("Action", "none")),
            Gen.OneOf(Uid("Doc", "a"), Uid("Doc", "b"), Uid("Doc", "zz"), Uid("User", "a")),
            Members,
            (p, e, principal, action, resource, context) => new DiffCase(p, e, principal, action, resource, context));

    private static Gen<GenPolicy> Policy =>
        Gen.Select(
            Gen.Frequency((3, Gen.Const("permit")), (1, Gen.Const("forbid"))),
            Gen.Frequency((3, Gen.Const(string.Empty)), (2, Gen.OneOf(" == User::\"a\"", " in Group::\"b\"", " is User", " is User in Group::\"c\"", " is Group"))),
            Gen.Frequency((3, Gen.Const(string.Empty)), (2, Gen.OneOf(" == Action::\"read\"", " in [Action::\"read\", Action::\"write\"]", " in Action::\"all\""))),
            Gen.Frequency((3, Gen.Const(string.Empty)), (2, Gen.OneOf(" == Doc::\"a\"", " in Group::\"a\"", " is Doc", " is Doc in Group::\"a\""))),
            Condition.Array[0, 2],
            (effect, p, a, r, conditions) => new GenPolicy(effect, p, a, r, conditions));

    private static Gen<string> Condition =>
        Gen.Select(
            Gen.Frequency((3, Gen.Const("when")), (1, Gen.Const("unless"))),
            Gen.Frequency((3, TypedCondition), (1, Gen.OneOf(TypedCondition, TypedCondition).Select(TypedCondition, (x, y) => $"{x} && {y}")), (4, Gen.OneOf(ExprByDepth))),
            (kind, body) => $"{kind} {{ {body} }}");

    private static Gen<GenEntity[]> Entities
    {
        get
        {
            // Parents only point "upwards" (Group c > b > a, Action all) so hierarchies have no cycles.
            (string Type, string Id, string[] PossibleParents)[] candidates =
            [
                ("User", "a", ["a", "b", "c"]), ("User", "b", ["a", "b", "c"]), ("User", "c", ["a", "b", "c"]),
                ("Group", "a", ["b", "c"]), ("Group", "b", ["c"]), ("Group", "c", []),
                ("Doc", "a", ["a", "b", "c"]), ("Doc", "b", ["a", "b", "c"]), ("NS::User", "a", ["a", "b"]),
                ("Action", "read", ["all"]), ("Action", "write", ["all"]), ("Action", "all", []),
            ];
            var gens = candidates.Select(c =>
                Gen.Select(
                    Gen.Int[0, 4],
                    Members,
                    Gen.OneOf(c.PossibleParents.Length == 0 ? [string.Empty] : c.PossibleParents).Array[0, 2],
                    Members,
                    (include, attrs, parents, tags) => include == 0
                        ? null
                        : new GenEntity(
                            c.Type,
                            c.Id,
                            attrs,
                            [.. parents.Where(p => p.Length > 0).Distinct().Select(p => GenEntity.Uid(c.Type == "Action" ? "Action" : "Group", p))],
                            tags.Length > 2 ? [] : tags)));
            return gens.Aggregate(
                Gen.Const(Array.Empty<GenEntity>()),
                (acc, g) => acc.Select(g, (list, e) => e is null ? list : [.. list, e]));
        }
    }

    private static Gen<(string Name, string Json)> Typed(string name, Gen<string> value) =>
        Gen.Frequency((4, value), (1, ValueJson)).Select(v => (Name: name, Json: v));

    private static Gen<string>[] BuildExpressions(int maxDepth)
    {
        var byDepth = new Gen<string>[maxDepth + 1];
        byDepth[0] = Leaf;
        for (var d = 1; d <= maxDepth; d++)
        {
            var sub = Gen.Frequency((2, Leaf), (3, byDepth[d - 1]));
            var binaryOps = Gen.OneOf("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "&&", "||", "in");
            var methods = Gen.OneOf(
                "contains", "containsAll", "containsAny", "getTag", "hasTag", "isInRange", "lessThan", "greaterThanOrEqual",
                "offset", "durationSince");
            var nullary = Gen.OneOf("isEmpty", "isIpv4", "isLoopback", "isMulticast", "toDate", "toTime", "toHours", "toMilliseconds");
            byDepth[d] = Gen.OneOf(
                Gen.Select(sub, binaryOps, sub, (a, op, b) => $"({a} {op} {b})"),
                sub.Select(a => $"(!{a})"),
                sub.Select(a => $"(-{a})"),
                Gen.Select(sub, Gen.OneOf(AttributeNames), (a, n) => $"({a} has {n})"),
                sub.Select(a => $"({a} has rec.x)"),
                Gen.Select(sub, Gen.OneOf("\"a*\"", "\"*b\"", "\"a\\*b\"", "\"*\"", "\"\"", "\"\\u{2a}\"", "\"*\\u{1F600}\""), (a, p) => $"({a} like {p})"),
                Gen.Select(sub, Gen.OneOf(AttributeNames), (a, n) => $"({a} has \"{n}\")"),
                Gen.Select(sub, Gen.OneOf("NS::User::\"a\"", "User::\"a\"", "[User::\"a\", Group::\"b\"]"), (a, e) => $"({a} in {e})"),
                Gen.Select(sub, Gen.OneOf("User", "Group", "Doc"), (a, t) => $"({a} is {t})"),
                Gen.Select(sub, sub, (a, b) => $"({a} is User in {b})"),
                Gen.Select(sub, sub, sub, (c, t, e) => $"(if {c} then {t} else {e})"),
                Gen.Select(sub, methods, sub, (a, m, b) => m is "getTag" or "hasTag" ? $"{Wrap(a)}.{m}(\"{b.Trim('"')}\")" : $"{Wrap(a)}.{m}({b})"),
                Gen.Select(sub, nullary, (a, m) => $"{Wrap(a)}.{m}()"),
                Gen.Select(sub, Gen.OneOf(AttributeNames), (a, n) => $"{Wrap(a)}.{n}"),
                Gen.Select(sub, sub, (a, b) => $"[{a}, {b}]"),
                Gen.Select(sub, sub, (a, b) => $"{{x: {a}, s: {b}}}"));
        }

        return byDepth;
    }

    private static string Wrap(string e) => e.StartsWith('(') || e.StartsWith('[') ? e : $"({e})";

    private static string Uid(string type, string id) => GenEntity.Uid(type, id);

    private static Func<string, string> Extension(string fn) =>
        arg => "{\"__extn\": {\"fn\": \"" + fn + "\", \"arg\": \"" + arg + "\"}}";
}
