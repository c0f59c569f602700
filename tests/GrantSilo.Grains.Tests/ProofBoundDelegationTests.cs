namespace GrantSilo.Grains.Tests;

/// <summary>
/// The credential that proves a delegation bounds it: the child lies within the proof credential's scope (every
/// permission, the classification cap) with one hop less of delegation depth, so a narrowed credential never
/// hands on more than it holds, however wide its task.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ProofBoundDelegationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private async Task<(string Planner, string Worker, TaskInfo Root)> PlannerAsync()
    {
        var wide = Scenario.Scope(2, "repo:*:acme/*");
        var planner = await _s.AgentAsync("planner", wide);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(1, "repo:*:acme/*"));
        var root = await _s.RootTaskAsync(planner, wide);
        return (planner, worker, root);
    }

    private async Task<IssuedCredential> ProofAsync(string planner, TaskInfo root, Scope scope)
    {
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId, scope);
        Assert.Equal(scope, proof.Scope);
        return proof;
    }

    private async Task<GrantError?> RefusedAsync(TaskInfo root, IssuedCredential proof, string worker, Scope scope)
    {
        var result = await _s.DelegateAsync(root.TaskId, proof.Token, worker, scope);
        Assert.False(result.IsSuccess);
        Assert.Empty((await _s.Client.GetTaskAsync(root.TaskId)).Value.Children);
        Assert.Empty((await _s.Client.ListAgentTasksAsync(worker)).Value.Items);
        return result.Error;
    }

    [Fact]
    public async Task Delegate_RefusedWhenTheProofMayNotDelegate_AsInTheReview()
    {
        var (planner, worker, root) = await PlannerAsync();
        var proof = await ProofAsync(planner, root, GrantSilo.Scope.Create(["repo:read:acme/docs/*"], DataClassification.Public, 0).Value);
        var error = await RefusedAsync(root, proof, worker, Scenario.Scope(1, "repo:*:acme/*"));
        Assert.Equal(GrantErrorCode.DelegationForbidden, error?.Code);
        Assert.Equal("delegation-depth>=1", error?.Permission);
    }

    [Fact]
    public async Task Delegate_RefusesAPermissionTheProofDoesNotHold_NamingIt()
    {
        var (planner, worker, root) = await PlannerAsync();
        var proof = await ProofAsync(planner, root, GrantSilo.Scope.Create(["repo:read:acme/docs/*"], DataClassification.Confidential, 2).Value);
        var error = await RefusedAsync(root, proof, worker, Scenario.Scope(0, "repo:*:acme/*"));
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("repo:*:acme/*", error?.Permission);
    }

    [Fact]
    public async Task Delegate_RefusesAClassificationAboveTheProofs()
    {
        var (planner, worker, root) = await PlannerAsync();
        var proof = await ProofAsync(planner, root, GrantSilo.Scope.Create(["repo:*:acme/*"], DataClassification.Public, 2).Value);
        var error = await RefusedAsync(root, proof, worker, Scenario.Scope(0, "repo:read:acme/docs/*"));
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("classification<=Confidential", error?.Permission);
    }

    [Fact]
    public async Task Delegate_RefusesADelegationDepthNotBelowTheProofs()
    {
        var (planner, worker, root) = await PlannerAsync();
        var proof = await ProofAsync(planner, root, Scenario.Scope(1, "repo:*:acme/*"));
        var error = await RefusedAsync(root, proof, worker, Scenario.Scope(1, "repo:read:acme/docs/*"));
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("delegation-depth<=1", error?.Permission);
    }

    [Fact]
    public async Task Delegate_SucceedsWhenTheProofCoversTheChild()
    {
        var (planner, worker, root) = await PlannerAsync();
        var proof = await ProofAsync(planner, root, GrantSilo.Scope.Create(["repo:read:acme/docs/*"], DataClassification.Public, 1).Value);
        var child = await _s.DelegateAsync(root.TaskId, proof.Token, worker, GrantSilo.Scope.Create(["repo:read:acme/docs/api/*"], DataClassification.Public, 0).Value);
        Assert.True(child.IsSuccess, child.Error?.ToString());
        Assert.Equal(root.TaskId, child.Value.ParentTaskId);
        Assert.Equal([child.Value.TaskId], (await _s.Client.GetTaskAsync(root.TaskId)).Value.Children);
    }
}
