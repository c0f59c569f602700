namespace GrantSilo.Grains.Tests;

/// <summary>A path a gateway could decode or normalize into another path after the decision is denied, never allowed.</summary>
[Collection(ClusterCollection.Name)]
public class GatewayPathTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Theory]
    [InlineData("acme/pub/%2e%2e/secret")]
    [InlineData("acme/pub/.%2E/secret")]
    [InlineData("acme/pub/..;/secret")]
    [InlineData("acme/pub\\..\\secret")]
    [InlineData("acme/pub/\uFF0E\uFF0E/secret")]
    [InlineData("acme/pub/read me")]
    [InlineData("acme/pub/read\u00A0me")]
    [InlineData("acme/pub/#")]
    public async Task AmbiguousPath_IsDeniedAsInvalidRequest(string path)
    {
        var scope = Scenario.Scope(0, "doc:read:acme/pub/*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "acme/pub/readme")).IsAllowed);
        var decision = await _s.AuthorizeAsync(credential, "read", "doc", path);
        Assert.Equal(DecisionKind.Deny, decision.Kind);
        Assert.Equal(DecisionReason.InvalidRequest, decision.Reason);
        Assert.StartsWith("The resource path is malformed", decision.Detail, StringComparison.Ordinal);
    }
}
