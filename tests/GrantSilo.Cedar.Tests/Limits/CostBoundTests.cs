namespace GrantSilo.Cedar.Tests.Limits;

public sealed class CostBoundTests
{
    private static readonly EntityUid Agent = new("Agent", "a");
    private static readonly EntityUid Doc = new("Doc", "d");
    private static readonly AuthorizationRequest Request = new(Agent, new EntityUid("Action", "read"), Doc);

    private static string ManyLikes(int n) =>
        "permit (principal, action, resource) when { " + string.Join(" || ", Enumerable.Range(0, n).Select(i => $"resource.path like \"*/x{i}*/y*/z*\"")) + " };";

    private static EntityStore Entities(int pathLength = 200) =>
        new([new Entity(Doc, [new("path", CedarValue.FromString(new string('a', pathLength)))])]);

    [Fact]
    public void Check_AcceptsAnOrdinaryPolicySet()
    {
        var set = PolicySet.Parse("""
            permit (principal is Agent, action, resource is Doc) when { resource.owner == principal.owner && context.depth <= 3 };
            forbid (principal, action, resource) when { resource.path like "/secret/*" || resource.classification > 3 };
            """);

        Assert.Empty(PolicyLimits.Default.Check(set));
        Assert.All(set.Policies, p => Assert.InRange(p.Cost, 3, 100));
    }

    [Fact]
    public void Check_Refuses255LikeClauses_NamingTheLimit()
    {
        var set = PolicySet.Parse(ManyLikes(255));

        var violation = Assert.Single(PolicyLimits.Default.Check(set), v => v.Limit == nameof(PolicyLimits.MaxPolicyCost));

        Assert.Equal("policy0", violation.PolicyId);
        Assert.True(violation.Actual > violation.Maximum);
        Assert.Contains("MaxPolicyCost", violation.Limit, StringComparison.Ordinal);
        Assert.Contains("`like`", violation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(PolicyLimits.MaxPolicies))]
    [InlineData(nameof(PolicyLimits.MaxPolicyLength))]
    [InlineData(nameof(PolicyLimits.MaxExpressionNodes))]
    [InlineData(nameof(PolicyLimits.MaxTotalCost))]
    public void Check_ReportsEachExceededLimitByName(string limit)
    {
        var set = PolicySet.Parse(string.Join("\n", Enumerable.Repeat("""permit (principal, action, resource) when { context.a == 1 && context.b == "a long string literal" };""", 3)));
        var limits = limit switch
        {
            nameof(PolicyLimits.MaxPolicies) => new PolicyLimits { MaxPolicies = 2 },
            nameof(PolicyLimits.MaxPolicyLength) => new PolicyLimits { MaxPolicyLength = 50 },
            nameof(PolicyLimits.MaxExpressionNodes) => new PolicyLimits { MaxExpressionNodes = 5 },
            _ => new PolicyLimits { MaxTotalCost = 20 },
        };

        var violations = limits.Check(set);

        Assert.NotEmpty(violations);
        Assert.All(violations, v => Assert.Equal(limit, v.Limit));
    }

    [Fact]
    public void Budget_ExceededDeniesFailClosed_EvenWhenAPermitWasSatisfied()
    {
        var set = PolicySet.Parse("""
            permit (principal, action, resource);
            """ + "\n" + ManyLikes(255));
        var unbounded = new Authorizer(set).IsAuthorized(Request, Entities());
        var bounded = new Authorizer(set, new AuthorizerOptions { EvaluationBudget = 1_000 }).IsAuthorized(Request, Entities());

        Assert.Equal(Decision.Allow, unbounded.Decision);
        Assert.False(unbounded.BudgetExceeded);
        Assert.Equal(Decision.Deny, bounded.Decision);
        Assert.True(bounded.BudgetExceeded);
        Assert.Empty(bounded.DeterminingPolicies);
        var error = Assert.Single(bounded.Errors);
        Assert.Equal("policy1", error.PolicyId);
        Assert.Contains("budget of 1000 exceeded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Budget_ChargesTheInputOfLike()
    {
        var set = PolicySet.Parse("""permit (principal, action, resource) when { resource.path like "*z*" };""");
        var authorizer = new Authorizer(set, new AuthorizerOptions { EvaluationBudget = 500 });

        Assert.False(authorizer.IsAuthorized(Request, Entities(pathLength: 100)).BudgetExceeded);
        Assert.True(authorizer.IsAuthorized(Request, Entities(pathLength: 10_000)).BudgetExceeded);
    }

    [Fact]
    public void Budget_ChargesTheStepsOfABacktrackingLike_NotJustItsInput()
    {
        // One wildcard before a long literal: against a string of the literal's first letter, every start is tried and
        // each try compares up to the literal's length (about 700 x 300 steps for a 1,000-character path).
        var set = PolicySet.Parse($$"""permit (principal, action, resource) when { resource.path like "*{{new string('a', 300)}}b" };""");
        var authorizer = new Authorizer(set, new AuthorizerOptions { EvaluationBudget = 50_000 });

        Assert.True(authorizer.IsAuthorized(Request, Entities(pathLength: 1_000)).BudgetExceeded);
        // A path the literal ends at once costs about its length, well within the budget.
        var linear = new EntityStore([new Entity(Doc, [new("path", CedarValue.FromString(new string('c', 1_000)))])]);
        Assert.False(authorizer.IsAuthorized(Request, linear).BudgetExceeded);
    }

    [Fact]
    public void Budget_WithinBudget_DecidesExactlyAsWithout()
    {
        var set = PolicySet.Parse("""
            permit (principal is Agent, action == Action::"read", resource) when { resource.path like "a*" };
            forbid (principal, action, resource) when { resource.path == "b" };
            permit (principal, action, resource) when { resource.missing };
            """);
        var unbounded = new Authorizer(set);
        var bounded = new Authorizer(set, new AuthorizerOptions { EvaluationBudget = 1_000_000 });

        foreach (var entities in new[] { Entities(5), new EntityStore([new Entity(Doc, [new("path", CedarValue.FromString("b"))])]) })
        {
            var a = unbounded.IsAuthorized(Request, entities);
            var b = bounded.IsAuthorized(Request, entities);
            Assert.Equal(a.ToString(), b.ToString());
            Assert.False(b.BudgetExceeded);
        }
    }
}
