using CsCheck;

namespace GrantSilo.Cedar.Tests.Support;

/// <summary>An expression tree kept as text with holes, so a disagreement can be shrunk by replacing a node with a child.</summary>
internal sealed record GenExpr(string Format, GenExpr[] Children)
{
    public static GenExpr Leaf(string text) => new(text, []);

    public override string ToString() => Children.Length == 0 ? Format : string.Format(System.Globalization.CultureInfo.InvariantCulture, Format, [.. Children.Select(c => (object)c.ToString())]);

    public IEnumerable<GenExpr> Reductions()
    {
        foreach (var c in Children)
        {
            yield return c;
        }

        if (Children.Length > 0 || Format != "true")
        {
            yield return Leaf("true");
        }

        for (var i = 0; i < Children.Length; i++)
        {
            foreach (var r in Children[i].Reductions())
            {
                yield return this with { Children = [.. Children.Select((c, j) => j == i ? r : c)] };
            }
        }
    }
}

internal sealed record GenValidationPolicy(string Effect, string Principal, string Action, string Resource, (bool When, GenExpr Body)[] Conditions)
{
    public override string ToString() =>
        $"{Effect} (principal{Principal}, action{Action}, resource{Resource}){string.Concat(Conditions.Select(c => $"\n  {(c.When ? "when" : "unless")} {{ {c.Body} }}"))};";
}

/// <summary>A random schema (as declaration lines) and policies, for differential validation against cedar-wasm.</summary>
internal sealed record ValidationCase(string[] Declarations, GenValidationPolicy[] Policies, bool Namespaced = false)
{
    private static readonly System.Text.RegularExpressions.Regex TypeReference = new(@"\b(User|Group|Doc|Folder|Robot|Color|Action)(::""|\b(?!::))");

    /// <summary>The schema; when namespaced, inside <c>namespace NS { ... }</c> with the context of every action as a common type.</summary>
    public string Schema => Namespaced
        ? "namespace NS {\n" + string.Join("\n", Declarations.Select(CommonContext)) + "\n}"
        : string.Join("\n", Declarations);

    public string PolicyText => string.Join("\n", PolicyList);

    /// <summary>The policies; when namespaced, every entity type and action is qualified with <c>NS::</c>.</summary>
    public string[] PolicyList => [.. Policies.Select(p => Namespaced ? Qualify(p.ToString()) : p.ToString())];

    private static string Qualify(string policy) =>
        TypeReference.Replace(policy, m => m.Value.StartsWith("Action", StringComparison.Ordinal) && m.Groups[2].Value.Length == 0 ? m.Value : "NS::" + m.Value);

    // `action "x" ... context: { ... } };` becomes a common type declaration and a reference to it.
    private static string CommonContext(string declaration, int index)
    {
        var at = declaration.IndexOf("context: ", StringComparison.Ordinal);
        if (!declaration.StartsWith("action", StringComparison.Ordinal) || at < 0)
        {
            return declaration;
        }

        var record = declaration[(at + "context: ".Length)..^" };".Length];
        return $"type Ctx{index} = {record};\n" + declaration[..at] + $"context: Ctx{index} }};";
    }

    public IEnumerable<ValidationCase> Reductions()
    {
        for (var i = 0; i < Policies.Length && Policies.Length > 1; i++)
        {
            yield return this with { Policies = [.. Policies.Where((_, j) => j != i)] };
        }

        for (var i = 0; i < Declarations.Length; i++)
        {
            yield return this with { Declarations = [.. Declarations.Where((_, j) => j != i)] };
        }

        for (var i = 0; i < Policies.Length; i++)
        {
            var p = Policies[i];
            for (var c = 0; c < p.Conditions.Length; c++)
            {
                var without = p with { Conditions = [.. p.Conditions.Where((_, j) => j != c)] };
                yield return With(i, without);
                foreach (var r in p.Conditions[c].Body.Reductions())
                {
                    yield return With(i, p with { Conditions = [.. p.Conditions.Select((x, j) => j == c ? (x.When, r) : x)] });
                }
            }

            if (p.Principal.Length > 0)
            {
                yield return With(i, p with { Principal = string.Empty });
            }

            if (p.Action.Length > 0)
            {
                yield return With(i, p with { Action = string.Empty });
            }

            if (p.Resource.Length > 0)
            {
                yield return With(i, p with { Resource = string.Empty });
            }
        }
    }

    private ValidationCase With(int i, GenValidationPolicy p) => this with { Policies = [.. Policies.Select((q, j) => j == i ? p : q)] };
}

internal static class ValidationCaseGenerators
{
    private static readonly string[] EntityNames = ["User", "Group", "Doc", "Folder"];
    private static readonly string[] AttributeNames = ["a", "b", "owner", "level", "tags"];
    private static readonly string[] ActionNames = ["read", "write", "admin"];

    private static readonly Gen<string> PrimitiveType = Gen.OneOf(
        "Long", "String", "Bool", "Set<Long>", "Set<String>", "ipaddr", "decimal", "datetime", "duration", "{ x: Long, y?: String }", "Set<User>");

    private static Gen<string> AttributeType(string[] entities) =>
        Gen.Frequency((4, PrimitiveType), (2, Gen.OneOf(entities)));

    private static Gen<string> Record(string[] entities) =>
        Gen.Select(Gen.Int[0, 3], Gen.Bool.Array[3], AttributeType(entities).Array[3], Gen.Shuffle(AttributeNames))
            .Select((n, optional, types, names) => "{ " + string.Join(", ", Enumerable.Range(0, n).Select(i => $"{names[i]}{(optional[i] ? "?" : string.Empty)}: {types[i]}")) + " }");

    public static readonly Gen<string[]> Schema =
        from entityCount in Gen.Int[2, 4]
        from withEnum in Gen.Bool
        let entities = EntityNames.Take(entityCount).ToArray()
        from parents in Gen.Int[0, 3].Array[entityCount]
        from shapes in Record(entities).Array[entityCount]
        from tags in Gen.OneOf(string.Empty, " tags Long", " tags String").Array[entityCount]
        from actionCount in Gen.Int[1, 3]
        from principals in Gen.Int[1, 15].Array[actionCount]
        from resources in Gen.Int[1, 15].Array[actionCount]
        from contexts in Record(entities).Array[actionCount]
        from memberOfFirst in Gen.Bool
        select BuildSchema(entities, withEnum, parents, shapes, tags, principals, resources, contexts, memberOfFirst);

    private static string[] BuildSchema(string[] entities, bool withEnum, int[] parents, string[] shapes, string[] tags, int[] principals, int[] resources, string[] contexts, bool memberOfFirst)
    {
        var lines = new List<string>();
        for (var i = 0; i < entities.Length; i++)
        {
            // A parent is an earlier type, so the hierarchy has no cycles.
            var parent = i > 0 && parents[i] > 0 ? $" in [{entities[parents[i] % i]}]" : string.Empty;
            lines.Add($"entity {entities[i]}{parent} = {shapes[i]}{tags[i]};");
        }

        if (withEnum)
        {
            lines.Add("entity Color enum [\"red\", \"blue\"];");
        }

        string Pick(int mask) => string.Join(", ", entities.Where((_, i) => (mask & (1 << i)) != 0).DefaultIfEmpty(entities[0]));
        for (var i = 0; i < principals.Length; i++)
        {
            var memberOf = i > 0 && memberOfFirst ? " in [\"read\"]" : string.Empty;
            lines.Add($"action \"{ActionNames[i]}\"{memberOf} appliesTo {{ principal: [{Pick(principals[i])}], resource: [{Pick(resources[i])}], context: {contexts[i]} }};");
        }

        return [.. lines];
    }

    private static readonly Gen<string> TypeName = Gen.Frequency((9, Gen.OneOf(EntityNames)), (1, Gen.OneOf("Robot", "Color")));

    private static readonly Gen<string> EntityLiteral =
        Gen.Frequency(
            (6, TypeName.Select(t => $"{t}::\"x\"")),
            (1, Gen.OneOf("Color::\"red\"", "Color::\"green\"")));

    private static readonly Gen<string> ActionLiteral = Gen.Frequency((8, Gen.OneOf(ActionNames)), (1, Gen.Const("delete"))).Select(a => $"Action::\"{a}\"");

    private static Gen<string> PrincipalOrResourceScope(string slot) => Gen.Frequency(
        (4, Gen.Const(string.Empty)),
        (2, EntityLiteral.Select(e => " == " + e)),
        (2, EntityLiteral.Select(e => " in " + e)),
        (2, TypeName.Select(t => " is " + t)),
        (1, Gen.Select(TypeName, EntityLiteral).Select((t, e) => $" is {t} in {e}")),
        (1, Gen.OneOf($" == {slot}", $" in {slot}")),
        (1, TypeName.Select(t => $" is {t} in {slot}")));

    private static readonly Gen<string> ActionScope = Gen.Frequency(
        (3, Gen.Const(string.Empty)),
        (3, ActionLiteral.Select(a => " == " + a)),
        (2, ActionLiteral.Array[1, 2].Select(a => " in [" + string.Join(", ", a) + "]")),
        (1, ActionLiteral.Select(a => " in " + a)));

    private static readonly Gen<string> Variable = Gen.OneOf("principal", "resource", "context");

    private static readonly Gen<GenExpr> Term = Gen.Frequency(
        (6, Gen.Select(Variable, Gen.OneOf(AttributeNames)).Select((v, a) => GenExpr.Leaf($"{v}.{a}"))),
        (2, Gen.Select(Variable, Gen.OneOf(AttributeNames)).Select((v, a) => GenExpr.Leaf($"{v}.{a}.x"))),
        (3, Gen.OneOf("principal", "resource", "context", "action").Select(GenExpr.Leaf)),
        (3, Gen.OneOf("1", "\"a\"", "true", "false", "[1, 2]", "[\"a\"]", "[]", "{ x: 1 }", "{ x: 1, y: \"s\" }", "ip(\"10.0.0.1\")", "ip(\"bad\")",
            "decimal(\"1.5\")", "datetime(\"2024-01-01\")", "duration(\"1h\")", "Action::\"read\"", "[Action::\"read\"]").Select(GenExpr.Leaf)),
        (2, EntityLiteral.Select(GenExpr.Leaf)));

    private static readonly string[] Binary =
    [
        "({0} == {1})", "({0} != {1})", "({0} < {1})", "({0} >= {1})", "({0} && {1})", "({0} || {1})", "({0} in {1})", "({0} + {1})",
        "{0}.contains({1})", "{0}.containsAll({1})", "{0}.containsAny({1})", "{0}.isInRange({1})", "{0}.lessThan({1})",
        "{0}.getTag({1})", "{0}.hasTag({1})", "{0}.offset({1})", "[{0}, {1}]", "{{ a: {0}, b: {1} }}",
    ];

    private static readonly string[] Unary =
    [
        "!{0}", "-{0}", "({0} has a)", "({0} has owner)", "({0} has x)", "({0} like \"a*\")", "({0} is User)", "({0} is Doc)", "{0}.isEmpty()",
        "{0}.isLoopback()", "{0}.toDays()", "{0}.getTag(\"t\")", "{0}.hasTag(\"t\")", "ip({0})", "[{0}]", "{0}.x",
    ];

    public static Gen<GenExpr> Expression(int depth) => depth == 0
        ? Term
        : Gen.Frequency(
            (3, Term),
            (3, Gen.Select(Gen.OneOf(Binary), Expression(depth - 1), Expression(depth - 1)).Select((f, a, b) => new GenExpr(f, [a, b]))),
            (2, Gen.Select(Gen.OneOf(Unary), Expression(depth - 1)).Select((f, a) => new GenExpr(f, [a]))),
            (1, Gen.Select(Expression(depth - 1), Expression(depth - 1), Expression(depth - 1)).Select((a, b, c) => new GenExpr("(if {0} then {1} else {2})", [a, b, c]))),
            (2, Gen.Select(Expression(depth - 1), Gen.OneOf(AttributeNames), Expression(depth - 1))
                .Select((t, a, e) => new GenExpr("(({0} has " + a + ") && {1})", [t, e]))));

    public static readonly Gen<GenValidationPolicy> Policy =
        from effect in Gen.OneOf("permit", "forbid")
        from principal in PrincipalOrResourceScope("?principal")
        from action in ActionScope
        from resource in PrincipalOrResourceScope("?resource")
        from conditions in Gen.Select(Gen.Bool, Expression(3)).Array[0, 2]
        select new GenValidationPolicy(effect, principal, action, resource, conditions);

    public static readonly Gen<ValidationCase> Case =
        Gen.Select(Schema, Policy.Array[1, 3], Gen.Int[0, 3]).Select((s, p, ns) => new ValidationCase(s, p, Namespaced: ns == 0));
}
