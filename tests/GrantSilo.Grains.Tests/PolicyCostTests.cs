using GrantSilo.Grains.Policies;
using GrantSilo.Policy;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// One published set must not be able to make every decision slow: publishing is bounded by size and a
/// static cost, and every decision by an evaluation budget that denies, failing closed, when spent.
/// </summary>
[Collection(ClusterCollection.Name)]
public class PolicyCostTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    // n conditions, each a `like` with many wildcards over the resource path.
    private static string Likes(int n, string pattern) =>
        "@id(\"likes\") permit (principal, action, resource is Resource) when { "
        + string.Join(" || ", Enumerable.Range(0, n).Select(_ => $"resource.path like \"{pattern}\""))
        + " };";

    [Fact]
    public async Task Publish_RefusesASetOverTheCostLimit_NamingTheLimitAndTheCostliestPolicy()
    {
        var pattern = string.Concat(Enumerable.Range(0, 25).Select(i => $"*{(char)('a' + (i % 26))}"));
        var refused = await fixture.Client.PublishPolicyAsync(Likes(255, pattern), "person:security@test.dev");
        Assert.Equal(GrantErrorCode.PolicyTooCostly, refused.Error?.Code);
        Assert.Contains("GrantSilo:Policy:MaxPolicySetCost", refused.Error!.Message, StringComparison.Ordinal);
        Assert.Equal("likes", refused.Error.Target);
    }

    [Fact]
    public async Task Publish_RefusesMorePoliciesThanTheLimit()
    {
        var text = string.Join("\n", Enumerable.Range(0, 1001).Select(i => $"@id(\"p{i}\") permit (principal, action, resource);"));
        var refused = await fixture.Client.PublishPolicyAsync(text, "person:security@test.dev");
        Assert.Equal(GrantErrorCode.PolicyTooCostly, refused.Error?.Code);
        Assert.Contains("GrantSilo:Policy:MaxPolicies", refused.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADecisionThatSpendsItsBudget_IsDenied_FailingClosed()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        // Cheap enough to publish, but each condition backtracks over a long path.
        await using var published = await PublishedPolicy.PublishAsync(fixture, Likes(100, "*a*b*c*d*e*f*g*h*i*j*"));
        var shortPath = await _s.AuthorizeAsync(credential, "read", "doc", "abcdefghij");
        Assert.True(shortPath.IsAllowed, shortPath.Detail);

        var longPath = await _s.AuthorizeAsync(credential, "read", "doc", new string('x', 1000));
        Assert.Equal(DecisionKind.Deny, longPath.Kind);
        Assert.Equal(DecisionReason.PolicyDenied, longPath.Reason);
        Assert.Contains("GrantSilo:Policy:EvaluationBudget", longPath.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Authorizer_DeniesWhenTheBudgetRunsOut_WhateverThePoliciesSay()
    {
        var set = PolicySet.Parse("""permit (principal, action, resource) when { context.s like "*a*b*c*" };""");
        var request = new AuthorizationRequest(new EntityUid("A", "a"), new EntityUid("Action", "r"), new EntityUid("R", "r"),
            CedarValue.Record([new("s", CedarValue.FromString(new string('a', 100) + "bc"))]));
        var authorizer = new Authorizer(set);
        Assert.True(authorizer.IsAuthorized(request, EntityStore.Empty).IsAllowed);
        var starved = authorizer.IsAuthorized(request, EntityStore.Empty, budget: 50);
        Assert.False(starved.IsAllowed);
        Assert.True(starved.BudgetExceeded);
        Assert.True(authorizer.IsAuthorized(request, EntityStore.Empty, budget: 1_000).IsAllowed);
        Assert.True(set.Policies[0].Cost > 1);
    }
}
