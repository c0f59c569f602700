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
        // The first limit it breaks (its length, its expression nodes or its cost), named by its setting.
        Assert.Contains(refused.Error!.DetailCode, new[] { "MaxPolicyLength", "MaxExpressionNodes", "MaxPolicyCost" });
        Assert.Contains($"GrantSilo:Policy:{refused.Error.DetailCode}", refused.Error.Message, StringComparison.Ordinal);
        Assert.Equal("likes", refused.Error.Target);
    }

    [Fact]
    public async Task Validate_RefusesATooCostlySet_AsPublishWould_AndStoresNothing()
    {
        var pattern = string.Concat(Enumerable.Range(0, 25).Select(i => $"*{(char)('a' + (i % 26))}"));
        var before = (await fixture.Client.ListPolicyVersionsAsync()).Value.Count;
        var validated = await fixture.Client.ValidatePolicyAsync(Likes(255, pattern));
        var published = await fixture.Client.PublishPolicyAsync(Likes(255, pattern), "person:security@test.dev");
        Assert.Equal(GrantErrorCode.PolicyTooCostly, validated.Error?.Code);
        Assert.Equal(published.Error!.Message, validated.Error!.Message);
        Assert.Equal(published.Error.DetailCode, validated.Error.DetailCode);
        Assert.Equal("likes", validated.Error.Target);
        Assert.Equal(before, (await fixture.Client.ListPolicyVersionsAsync()).Value.Count);
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

        // Cheap enough to publish, but every `like` is charged the length of the path it matches.
        var text = string.Join("\n", Enumerable.Range(0, 100).Select(i =>
            $"@id(\"likes{i}\") permit (principal, action, resource is Resource) when {{ " + string.Join(" || ", Enumerable.Range(0, 5).Select(_ => "resource.path like \"*q*\"")) + " };"));
        await using var published = await PublishedPolicy.PublishAsync(fixture, text);
        var shortPath = await _s.AuthorizeAsync(credential, "read", "doc", "abcdefghq");
        Assert.True(shortPath.IsAllowed, shortPath.Detail);

        var longPath = await _s.AuthorizeAsync(credential, "read", "doc", new string('x', 1000));
        Assert.Equal(DecisionKind.Deny, longPath.Kind);
        Assert.Equal(DecisionReason.PolicyDenied, longPath.Reason);
        Assert.Contains("GrantSilo:Policy:EvaluationBudget", longPath.Detail, StringComparison.Ordinal);
    }
}
