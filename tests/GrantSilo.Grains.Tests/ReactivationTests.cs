namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class ReactivationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task GrantsSurviveDeactivation_WithScopesIntact()
    {
        var ceiling = Scenario.Scope(1, "doc:read:reports/*", "doc:write:drafts/*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:reports/*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:reports/q3/*"))).Value;
        var (_, credential) = await _s.CredentialAsync(worker, child.TaskId);

        // Every idle activation goes (the management grain is an operator's: the harness is one); the next calls reload state from storage.
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "reports/q3/summary")).IsAllowed);
        Assert.Equal(DecisionReason.ScopeDoesNotCover, (await _s.AuthorizeAsync(credential, "read", "doc", "reports/q4/summary")).Reason);
        Assert.Equal(ceiling, (await _s.Client.GetAgentAsync(planner)).Value.Ceiling);
        Assert.Equal(child.Scope, (await _s.Client.GetTaskAsync(child.TaskId)).Value.Scope);
        Assert.Equal(credential.Scope, (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value.Scope);
        // Delegation still works from reloaded state, and still narrows.
        var wider = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:write:drafts/*"));
        Assert.Equal(GrantErrorCode.ScopeExceedsCeiling, wider.Error?.Code);

        // A revocation made before a deactivation is still there after it.
        await _s.Client.RevokeTaskAsync(child.TaskId, "done");
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(DecisionKind.Deny, (await _s.AuthorizeAsync(credential, "read", "doc", "reports/q3/summary")).Kind);
        Assert.Equal(GrantTaskStatus.Revoked, (await _s.Client.GetTaskAsync(child.TaskId)).Value.Status);
    }
}
