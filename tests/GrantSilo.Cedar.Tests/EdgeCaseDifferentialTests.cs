using System.Text.Json.Nodes;
using GrantSilo.Cedar.Tests.Support;

namespace GrantSilo.Cedar.Tests;

/// <summary>Hand-picked syntax and semantics corner cases, each decided by GrantSilo and by cedar-wasm (one Node run).</summary>
public sealed class EdgeCaseDifferentialTests
{
    private const string Entities = """
        [
          {"uid": {"type": "User", "id": "a"}, "attrs": {"n": 1, "s": "x", "rec": {"if": 1, "in": 2}, "owner": {"__entity": {"type": "User", "id": "b"}}}, "parents": [{"type": "Group", "id": "g"}], "tags": {"t": 1}},
          {"uid": {"type": "Group", "id": "g"}, "attrs": {}, "parents": [{"type": "Group", "id": "h"}]},
          {"uid": {"type": "NS::Doc", "id": "d"}, "attrs": {"contains": true}, "parents": []}
        ]
        """;

    private static readonly string[] Conditions =
    [
        "principal has if", "principal.rec has if", "principal.rec.if == 1", "principal.rec.in == 2", "{if: 1, in: 2} has in", "{if: 1,}.if == 1",
        "[1, 2,].contains(2)", "principal has true", "principal is principal", "0001 == 1", "- 5 == -5", "- -5 == 5", "-(-5) == 5",
        "\"\\u{D800}\" == \"\"", "\"\\x80\" == \"\"", "\"\\x7f\" != \"\"", "1 < 2 == true", "!true == false", "if true then 1 else 2 + 3 == 1",
        "ip(\"1.2.3.4\").isIpv4", "resource.contains", "principal.isEmpty()", "User::\"a\".foo()", "-1.lessThan(2)",
        "datetime(\"2024-01-01T00:00:00.123Z\") > datetime(\"2024-01-01\")", "datetime(\"2024-01-01T24:00:00Z\") > datetime(\"2024-01-01\")",
        "datetime(\"2024-01-01T23:59:60Z\") > datetime(\"2024-01-01\")", "datetime(\"2024-01-01T00:00:00+2400\") < datetime(\"2024-01-02\")",
        "datetime(\"2024-01-01T00:00:00.12Z\") > datetime(\"2024-01-01\")", "datetime(\"-024-01-01\") < datetime(\"2024-01-01\")",
        "duration(\"1d1d\") == duration(\"2d\")", "duration(\"1ms1s\") > duration(\"0ms\")", "duration(\"01h\") == duration(\"1h\")", "duration(\"-0ms\") == duration(\"0ms\")",
        "decimal(\"01.10\") == decimal(\"1.1\")", "decimal(\"-0.0\") == decimal(\"0.0\")", "decimal(\"1.\") == decimal(\"1.0\")", "decimal(\".5\") == decimal(\"0.5\")",
        "decimal(\"+1.0\") == decimal(\"1.0\")", "ip(\"::\").isIpv6()", "ip(\"1::\").isIpv6()", "ip(\"::1:2:3:4:5:6:7\").isIpv6()", "ip(\"1:2:3:4:5:6:7::\").isIpv6()",
        "ip(\"1:2:3:4:5:6:7:8::\").isIpv6()", "ip(\"1::2::3\").isIpv6()", "ip(\"12345::\").isIpv6()", "ip(\"0.0.0.0/0\").isInRange(ip(\"::/0\"))",
        "ip(\"10.0.0.1/08\").isIpv4()", "ip(\"10.0.0.256\").isIpv4()", "ip(\"127.0.0.1/7\").isLoopback()", "ip(\"::1/127\").isLoopback()",
        "ip(\"224.0.0.0/3\").isMulticast()", "ip(\"FF00::\").isMulticast()", "ip(\"1.2.3.4 \").isIpv4()", "ip(\"[::1]\").isIpv6()",
        "\"a\" like \"\\*\"", "\"*\" like \"\\*\"", "\"\" like \"\"", "Action::\"a\" in [Action::\"a\"]", "principal in [User::\"a\"]",
        "principal in Group::\"h\"", "principal.owner.owner == principal", "principal.getTag(\"t\") == 1", "resource is NS::Doc",
        "resource is NS :: Doc", "NS::Doc::\"d\".contains", "__cedar::ip(\"1.2.3.4\").isIpv4()", "ip::\"x\" == ip::\"x\"",
        "context == {}", "[] == []", "{} == {}", "[[]] == [[], []]", "[principal, User::\"a\"] == [User::\"a\"]",
        "principal.n * principal.n + 9223372036854775807 > 0", "9223372036854775807 * 0 == 0", "principal.s like \"*\\u{78}\"",
        "if principal.n == 1 then principal.nope else true", "true || principal.nope", "principal.nope || true",
        "(principal has n) && (principal has s) && (principal has nope) == false", "principal has n.x", "principal has rec.if",
        "principal[\"rec\"][\"if\"] == 1", "principal.owner has n", "User::\"zz\" has n", "User::\"zz\".hasTag(\"t\")", "User::\"zz\".getTag(\"t\")",
        "principal is User in Group::\"h\"", "principal is User in [Group::\"h\"]", "principal is User in 1", "principal is Group in 1",
        "principal in principal", "action in action", "\"\\u{10FFFF}\" != \"\"", "\"\\u{110000}\" != \"\"", "\"\\u{}\" == \"\"",
        "\"\\u{_1}\" == \"\"", "\"\\u{1_0}\" == \"\\u{10}\"", "\"\\u{0000001}\" == \"\"", "\"a\\\n   b\" == \"ab\"", "1 + -1 == 0", "1--1 == 2",
        "1 - - 1 == 2", "!-1", "-!true", "principal.n.n", "true // trailing comment", "true /* block */", "\"a\rb\" != \"\"", "\"a\tb\" != \"\"",
        "1a == 1", "User::\"a\"::\"b\" == User::\"a\"", "[1, 2].containsAll(1)", "[1, 2].containsAny([])", "[].containsAll([])",
        "resource is NS::Doc in NS::Doc::\"d\"", "resource in NS::Doc::\"d\"", "\"\\'\" == \"'\"", "'a' == \"a\"",
        "9223372036854775807 + 0 == 9223372036854775807", "-9223372036854775808 * -1 == 0", "-9223372036854775808 * 1 < 0",
        "principal.n - 9223372036854775807 - 3 < 0", "duration(\"9223372036854775807ms\") > duration(\"0ms\")",
        "duration(\"-9223372036854775808ms\") < duration(\"0ms\")", "duration(\"106751991167d\") > duration(\"0ms\")",
        "duration(\"106751992d\") > duration(\"0ms\")", "datetime(\"9999-12-31T23:59:59.999-2359\") > datetime(\"2024-01-01\")",
        "datetime(\"0000-01-01T00:00:00+2359\").toDate() < datetime(\"0000-01-01\")", "datetime(\"1970-01-01\").offset(duration(\"-1ms\")).toTime() == duration(\"86399999ms\")",
        "datetime(\"1970-01-01\").offset(duration(\"9223372036854775807ms\")).offset(duration(\"1ms\")) > datetime(\"1970-01-01\")",
        "datetime(\"1970-01-01\").offset(duration(\"-9223372036854775808ms\")).toDate() < datetime(\"1970-01-01\")",
        "datetime(\"2024-02-29\") > datetime(\"2024-02-28\")", "datetime(\"1900-02-29\") > datetime(\"1900-02-28\")", "datetime(\"2000-02-29\") > datetime(\"1900-02-28\")",
        "datetime(\"2024-01-01T00:00:00z\") > datetime(\"2024-01-01\")", "datetime(\"2024-01-01t00:00:00Z\") > datetime(\"2024-01-01\")",
        "datetime(\"2024-01-01T00:00:00+01:00\") > datetime(\"2024-01-01\")", "datetime(\"2024-01-01 \") > datetime(\"2024-01-01\")",
        "decimal(\"922337203685477.5807\").greaterThan(decimal(\"0.0\"))", "decimal(\"922337203685477.5808\").greaterThan(decimal(\"0.0\"))",
        "decimal(\"-922337203685477.5809\").lessThan(decimal(\"0.0\"))", "decimal(\"1.0\").lessThan(1)", "decimal(\"1.0\") == decimal(\"1.00\")",
        "ip(\"::ffff:1.2.3.4\").isIpv6()", "ip(\"1.2.3.4/32\") == ip(\"1.2.3.4\")", "ip(\"1.2.3.4/0\").isInRange(ip(\"0.0.0.0/0\"))",
        "ip(\"0.0.0.0/0\").isInRange(ip(\"1.2.3.4/0\"))", "ip(\"10.0.0.0/8\").isInRange(ip(\"10.0.0.0/8\"))", "ip(\"::1/0128\").isIpv6()",
        "ip(\"1:2:3:4:5:6:7:8/128\").isIpv6()", "ip(\"1:2:3:4:5:6:7:8:9\").isIpv6()", "ip(\":1::\").isIpv6()", "ip(\"1::2:\").isIpv6()",
        "ip(\"0000:0000::\").isIpv6()", "ip(\"00000::\").isIpv6()", "ip(\"1.2.3\").isIpv4()", "ip(\"1.2.3.4.5\").isIpv4()", "ip(\"1.2.3.-4\").isIpv4()",
        "\"abc\" like \"a**c\"", "\"ab\\u{1F600}c\" like \"ab?c\"", "\"ab\\u{1F600}c\" like \"ab*c\"",
    ];

    private static readonly string[] Policies =
    [
        "permit(principal, action, resource,);",
        "permit(principal: User, action, resource);",
        "permit(principal, action is Action, resource);",
        "permit(principal, action == Action::\"a\", resource == NS::Doc::\"d\");",
        "permit(principal in User::\"a\", action in [], resource);",
        "permit(principal, action in [Action::\"a\",], resource);",
        "@foo permit(principal, action, resource);",
        "@foo(\"a\") @bar(\"b\") forbid(principal, action, resource) unless { false };",
        "permit(principal, action, resource) when { true } when { true } unless { false };",
        "permit(principal is NS::Doc, action, resource);",
        "permit(principal, action, resource) when { true }",
        "permit(principal, action, resource);;",
        "permit(principal == User::\"a\", action, resource) when { ((((((((((true)))))))))) };",
    ];

    [Fact]
    public void CornerCases_AgreeWithReferenceEngine()
    {
        var cases = Conditions.Select(c => $"permit(principal, action, resource) when {{ {c} }};").Concat(Policies)
            .Select(text => new JsonObject
            {
                ["policies"] = text,
                ["entities"] = JsonNode.Parse(Entities),
                ["principal"] = JsonNode.Parse("""{"type": "User", "id": "a"}"""),
                ["action"] = JsonNode.Parse("""{"type": "Action", "id": "a"}"""),
                ["resource"] = JsonNode.Parse("""{"type": "NS::Doc", "id": "d"}"""),
                ["context"] = new JsonObject(),
            }).ToList();

        var reference = CedarOracle.Decide(cases);
        var disagreements = cases
            .Select((c, i) => (Text: c["policies"]!.GetValue<string>(), Expected: reference[i], Actual: CedarOracle.DecideLocally(c)))
            .Where(x => !x.Actual.SameAs(x.Expected))
            .Select(x => $"{x.Text}\n  cedar-wasm: {x.Expected}\n  GrantSilo:  {x.Actual}")
            .ToList();

        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }
}
