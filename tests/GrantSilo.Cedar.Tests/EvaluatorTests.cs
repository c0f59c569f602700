using GrantSilo.Cedar.Tests.Support;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Tests;

public sealed class EvaluatorTests
{
    private static readonly EntityStore Hierarchy = new([
        new Entity(new EntityUid("User", "alice"), [new("age", CedarValue.FromLong(30)), new("rec", CedarValue.Record([new("x", CedarValue.FromLong(1))]))], [new EntityUid("Group", "team")],
            tags: [new("level", CedarValue.FromString("high"))]),
        new Entity(new EntityUid("Group", "team"), parents: [new EntityUid("Group", "dept")]),
        new Entity(new EntityUid("Group", "dept"), parents: [new EntityUid("Group", "org")]),
        new Entity(new EntityUid("Group", "cycle1"), parents: [new EntityUid("Group", "cycle2")]),
        new Entity(new EntityUid("Group", "cycle2"), parents: [new EntityUid("Group", "cycle1")]),
    ]);

    [Theory]
    [InlineData("9223372036854775807 + 1")]
    [InlineData("-9223372036854775808 - 1")]
    [InlineData("4611686018427387904 * 2")]
    [InlineData("-(-9223372036854775808)")]
    [InlineData("--9223372036854775808")]
    public void Arithmetic_Overflow_IsAnError(string expression) =>
        Assert.Contains("overflow", Expressions.Error(expression), StringComparison.Ordinal);

    [Theory]
    [InlineData("9223372036854775806 + 1 == 9223372036854775807")]
    [InlineData("-9223372036854775808 == -9223372036854775807 - 1")]
    [InlineData("-3 * 4 == -12")]
    [InlineData("--5 == 5")]
    [InlineData("1 + 2 * 3 == 7")]
    public void Arithmetic_InRange_Computes(string expression) => Assert.True(Expressions.True(expression));

    [Theory]
    [InlineData("false && (1 + true)")]
    [InlineData("!(true || (1 + true))")]
    [InlineData("if true then false else (1 + true)")]
    public void LogicalOperators_ShortCircuit(string expression) => Assert.False(Expressions.True(expression));

    [Theory]
    [InlineData("true && 1")]
    [InlineData("1 || true")]
    [InlineData("!1")]
    [InlineData("if 1 then true else false")]
    [InlineData("1 < \"a\"")]
    [InlineData("\"a\" like \"a\" && 1 like \"a\"")]
    [InlineData("1.contains(1)")]
    [InlineData("1 in User::\"alice\"")]
    [InlineData("User::\"alice\" in [User::\"alice\", 1]")]
    [InlineData("{a: 1}.b")]
    [InlineData("decimal(\"1.0\") < decimal(\"2.0\")")]
    public void TypeErrorsAndMissingAttributes_AreErrors(string expression) => Assert.NotNull(Expressions.Error(expression));

    [Fact]
    public void In_IsReflexiveAndTransitive()
    {
        Assert.True(Expressions.True("User::\"alice\" in User::\"alice\""));
        Assert.True(Expressions.True("User::\"alice\" in Group::\"org\"", Hierarchy));
        Assert.True(Expressions.True("User::\"alice\" in [Group::\"x\", Group::\"dept\"]", Hierarchy));
        Assert.False(Expressions.True("Group::\"org\" in User::\"alice\"", Hierarchy));
        Assert.False(Expressions.True("User::\"bob\" in Group::\"team\"", Hierarchy));
        Assert.True(Expressions.True("Group::\"cycle1\" in Group::\"cycle2\" && Group::\"cycle2\" in Group::\"cycle1\"", Hierarchy));
    }

    [Theory]
    [InlineData("\"abc\" like \"a*c\"", true)]
    [InlineData("\"ac\" like \"a*c\"", true)]
    [InlineData("\"abd\" like \"a*c\"", false)]
    [InlineData("\"a*c\" like \"a\\*c\"", true)]
    [InlineData("\"abc\" like \"a\\*c\"", false)]
    [InlineData("\"\" like \"*\"", true)]
    [InlineData("\"aaa\" like \"*a*a*a*\"", true)]
    [InlineData("\"aa\" like \"*a*a*a*\"", false)]
    [InlineData("\"x*y\" like \"*\\**\"", true)]
    public void Like_HandlesWildcardsAndEscapedStars(string expression, bool expected) => Assert.Equal(expected, Expressions.True(expression));

    [Fact]
    public void HasAndAttributes_ReadEntitiesAndRecords()
    {
        Assert.True(Expressions.True("principal has age && principal.age == 30 && principal[\"age\"] >= 30", Hierarchy));
        Assert.True(Expressions.True("principal has rec.x && !(principal has rec.y) && !(principal has nope.x)", Hierarchy));
        Assert.False(Expressions.True("User::\"ghost\" has age", Hierarchy));
        Assert.Contains("does not exist", Expressions.Error("User::\"ghost\".age", Hierarchy), StringComparison.Ordinal);
    }

    [Fact]
    public void Tags_AreReadWithGetTagAndHasTag()
    {
        Assert.True(Expressions.True("principal.hasTag(\"level\") && principal.getTag(\"level\") == \"high\" && !principal.hasTag(\"x\")", Hierarchy));
        Assert.NotNull(Expressions.Error("principal.getTag(\"x\")", Hierarchy));
    }

    [Fact]
    public void IsAndIsIn_CheckTypeThenHierarchy()
    {
        Assert.True(Expressions.True("principal is User && principal is User in Group::\"dept\"", Hierarchy));
        Assert.False(Expressions.True("principal is Group in (1 + true)", Hierarchy));
        Assert.NotNull(Expressions.Error("1 is User"));
    }

    [Fact]
    public void SetsAndRecords_CompareStructurally()
    {
        Assert.True(Expressions.True("[1, 2, 2] == [2, 1] && {a: [1], b: \"x\"} == {b: \"x\", a: [1]}"));
        Assert.True(Expressions.True("[1, 2, 3].containsAll([3, 1]) && [1, 2].containsAny([5, 2]) && [].isEmpty() && ![1].isEmpty()"));
        Assert.True(Expressions.True("[[1], {a: User::\"x\"}].contains({a: User::\"x\"})"));
        Assert.False(Expressions.True("1 == \"1\""));
    }

    [Fact]
    public void IpExtension_ImplementsCedarMethods()
    {
        Assert.True(Expressions.True("ip(\"10.1.2.3\").isInRange(ip(\"10.0.0.0/8\")) && !ip(\"11.0.0.1\").isInRange(ip(\"10.0.0.0/8\"))"));
        Assert.True(Expressions.True("ip(\"127.0.0.1\").isLoopback() && ip(\"::1\").isLoopback() && ip(\"224.0.0.1\").isMulticast() && ip(\"ff02::1\").isMulticast()"));
        Assert.True(Expressions.True("ip(\"1.2.3.4\").isIpv4() && ip(\"2001:db8::/32\").isIpv6() && !ip(\"10.0.0.0/8\").isInRange(ip(\"10.0.0.0/16\"))"));
        Assert.True(Expressions.True("ip(\"10.0.0.1\") == ip(\"10.0.0.1/32\") && ip(\"10.0.0.1/24\") != ip(\"10.0.0.0/24\")"));
        Assert.NotNull(Expressions.Error("ip(\"01.2.3.4\")"));
        Assert.NotNull(Expressions.Error("ip(\"::ffff:1.2.3.4\")"));
        Assert.NotNull(Expressions.Error("ip(\"10.0.0.0/33\")"));
    }

    [Fact]
    public void DecimalExtension_ComparesWithMethods()
    {
        Assert.True(Expressions.True("decimal(\"1.5\").lessThan(decimal(\"1.51\")) && decimal(\"-0.5\").lessThanOrEqual(decimal(\"-0.5\"))"));
        Assert.True(Expressions.True("decimal(\"2.0\").greaterThan(decimal(\"1.9999\")) && decimal(\"1.0\") == decimal(\"1.0000\")"));
        Assert.NotNull(Expressions.Error("decimal(\"1.23456\")"));
        Assert.NotNull(Expressions.Error("decimal(\"922337203685478.0\")"));
        Assert.True(Expressions.True("decimal(\"-922337203685477.5808\") == decimal(\"-922337203685477.5808\")"));
    }

    [Fact]
    public void DatetimeAndDuration_ImplementCedar4Methods()
    {
        Assert.True(Expressions.True("datetime(\"2024-01-01T10:00:00Z\") > datetime(\"2024-01-01\") && datetime(\"2024-01-01T12:00:00+0200\") == datetime(\"2024-01-01T10:00:00Z\")"));
        Assert.True(Expressions.True("datetime(\"2024-01-01\").offset(duration(\"1d2h\")) == datetime(\"2024-01-02T02:00:00Z\")"));
        Assert.True(Expressions.True("datetime(\"2024-01-02\").durationSince(datetime(\"2024-01-01\")) == duration(\"24h\")"));
        Assert.True(Expressions.True("datetime(\"1969-12-31T23:00:00Z\").toDate() == datetime(\"1969-12-31\") && datetime(\"1969-12-31T23:00:00Z\").toTime() == duration(\"23h\")"));
        Assert.True(Expressions.True("duration(\"-1d1h1m1s1ms\").toMilliseconds() == -90061001 && duration(\"90m\").toHours() == 1 && duration(\"1h\") < duration(\"61m\")"));
        Assert.NotNull(Expressions.Error("datetime(\"2023-02-29\")"));
        Assert.NotNull(Expressions.Error("duration(\"1h1d\")"));
        Assert.NotNull(Expressions.Error("duration(\"9223372036854775807d\")"));
    }

    [Fact]
    public void WrongExtensionArity_IsAnEvaluationErrorNotAParseError() =>
        Assert.NotNull(Expressions.Error("ip(\"1.2.3.4\", \"x\")"));

    [Fact]
    public void Authorizer_EvaluatesEveryPolicyAndForbidOverridesPermit()
    {
        var r = Expressions.Authorize("""
            permit (principal, action, resource);
            permit (principal, action, resource) when { 1 + true };
            forbid (principal, action, resource) when { principal.age > 18 };
            forbid (principal, action, resource) when { context.missing };
            @obligation("approval") permit (principal == User::"alice", action, resource);
            """, Hierarchy);

        Assert.Equal(Decision.Deny, r.Decision);
        Assert.Equal(["policy2"], r.DeterminingPolicyIds);
        Assert.Equal(["policy1", "policy3"], r.ErroringPolicyIds);
        Assert.All(r.Errors, e => Assert.False(string.IsNullOrEmpty(e.Message)));
    }

    [Fact]
    public void Authorizer_AllowListsAllSatisfiedPermitsWithAnnotations()
    {
        var r = Expressions.Authorize("""
            permit (principal in Group::"org", action == Action::"read", resource);
            @obligation("approval") permit (principal is User, action in [Action::"read", Action::"write"], resource == Doc::"d1");
            permit (principal, action, resource) when { false };
            """, Hierarchy);

        Assert.Equal(Decision.Allow, r.Decision);
        Assert.Equal(["policy0", "policy1"], r.DeterminingPolicyIds);
        Assert.Equal("approval", r.DeterminingPolicies[1].Annotations["obligation"]);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void Authorizer_DefaultsToDenyWithNoReasons()
    {
        var r = Expressions.Authorize("permit (principal == User::\"bob\", action, resource);");

        Assert.Equal(Decision.Deny, r.Decision);
        Assert.Empty(r.DeterminingPolicies);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void Authorizer_ErrorInLaterConditionIsNotReachedAfterFalseCondition()
    {
        var r = Expressions.Authorize("permit (principal, action, resource) when { false } when { 1 + true };");

        Assert.Empty(r.Errors);
    }

    [Fact]
    public void ConstantExtensionCalls_AreFoldedAtCompileTimeButFailOnlyWhenReached()
    {
        var r = Expressions.Authorize("""
            permit (principal, action, resource) when { context.go && ip("bad").isIpv4() };
            permit (principal, action, resource) when { ip("10.0.0.1").isInRange(ip("10.0.0.0/8")) };
            """, context: CedarValue.Record([new("go", CedarValue.False)]));

        Assert.Equal(["policy1"], r.DeterminingPolicyIds);
        Assert.Empty(r.Errors);
        Assert.IsType<Evaluation.LiteralExpr>(Parsing.Parser.ParseExpression("ip(\"10.0.0.0/8\")"));
        Assert.IsType<Evaluation.ErrorExpr>(Parsing.Parser.ParseExpression("ip(\"bad\")"));
    }

    [Fact]
    public void Authorizer_IsSafeToShareAcrossThreads()
    {
        var authorizer = new Authorizer(PolicySet.Parse("""
            permit (principal in Group::"org", action, resource) when { [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].contains(principal.age - 20) };
            forbid (principal, action, resource) when { context.n > 5 };
            """));
        var requests = Enumerable.Range(0, 20).Select(i => new AuthorizationRequest(
            Expressions.Alice, Expressions.Read, Expressions.Doc, CedarValue.Record([new("n", CedarValue.FromLong(i % 8))]))).ToArray();
        var expected = requests.Select(r => authorizer.IsAuthorized(r, Hierarchy).ToString()).ToArray();

        var mismatches = 0;
        Parallel.For(0, 20_000, i =>
        {
            if (authorizer.IsAuthorized(requests[i % requests.Length], Hierarchy).ToString() != expected[i % requests.Length])
            {
                Interlocked.Increment(ref mismatches);
            }
        });

        Assert.Equal(0, mismatches);
        Assert.Contains(expected, e => e.StartsWith("Allow [policy0]", StringComparison.Ordinal));
        Assert.Contains(expected, e => e.StartsWith("Deny [policy1]", StringComparison.Ordinal));
    }

    [Fact]
    public void Values_PrintAsCedar()
    {
        Assert.Equal("ip(\"10.1.2.3/8\")", CedarValue.Ip("10.1.2.3/8").ToString());
        Assert.Equal("ip(\"::1/128\")", CedarValue.Ip("::1").ToString());
        Assert.Equal("decimal(\"-1.0500\")", CedarValue.Decimal("-1.05").ToString());
        Assert.Equal("User::\"a\\\"b\"", new EntityUid("User", "a\"b").ToString());
        Assert.Equal("{\"a\": [1], \"b\": true}", CedarValue.Record([new("b", CedarValue.True), new("a", CedarValue.Set(CedarValue.FromLong(1)))]).ToString());
    }

    [Fact]
    public void UnaryMinusOnLiteral_FoldsIntoNegativeLiteral() =>
        Assert.Equal(LongValue.Of(long.MinValue), Expressions.Value("-9223372036854775808"));
}
