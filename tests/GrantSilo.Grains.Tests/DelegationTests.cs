namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class DelegationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private async Task<(string Planner, string Worker, TaskInfo Root, IssuedCredential Proof)> PlannerAsync(int depth = 2, TimeSpan? lifetime = null)
    {
        var ceiling = Scenario.Scope(depth, "repo:*:acme/*", "ticket:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*", "ticket:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling, lifetime);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        return (planner, worker, root, proof);
    }

    [Fact]
    public async Task Delegate_NarrowsAndCarriesTheRootPerson()
    {
        var (_, worker, root, proof) = await PlannerAsync();
        var child = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "repo:read:acme/payments/*"));
        Assert.True(child.IsSuccess, child.Error?.ToString());
        Assert.Equal(root.RootPerson, child.Value.RootPerson);
        Assert.Equal(root.TaskId, child.Value.ParentTaskId);
        Assert.Equal(1, child.Value.Depth);

        var (_, credential) = await _s.CredentialAsync(worker, child.Value.TaskId);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "repo", "acme/payments/api")).IsAllowed);
        Assert.Equal(DecisionReason.ScopeDoesNotCover, (await _s.AuthorizeAsync(credential, "write", "repo", "acme/payments/api")).Reason);
        Assert.Equal(DecisionReason.ScopeDoesNotCover, (await _s.AuthorizeAsync(credential, "read", "repo", "acme/hr/x")).Reason);
    }

    [Fact]
    public async Task Delegate_RejectsScopeWiderThanParent_NamingThePermission_AndChangesNothing()
    {
        var (_, worker, root, proof) = await PlannerAsync();
        var wider = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "repo:read:acme/*", "repo:read:globex/*"));
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, wider.Error?.Code);
        Assert.Equal("repo:read:globex/*", wider.Error?.Permission);
        Assert.Empty((await _s.Client.GetTaskAsync(root.TaskId)).Value.Children);
    }

    [Fact]
    public async Task Delegate_RejectsScopeBeyondTheChildAgentsCeiling()
    {
        var (_, worker, root, proof) = await PlannerAsync();
        var result = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "repo:write:acme/x"));
        Assert.Equal(GrantErrorCode.ScopeExceedsCeiling, result.Error?.Code);
        Assert.Equal("repo:write:acme/x", result.Error?.Permission);
    }

    [Fact]
    public async Task Delegate_CapsLifetimeBeyondTheParent_ToTheParentsEnd()
    {
        var (_, worker, root, proof) = await PlannerAsync(lifetime: TimeSpan.FromHours(1));
        var result = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"), TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal(root.ExpiresAt, result.Value.ExpiresAt);
    }

    [Fact]
    public async Task Delegate_RejectedWhenTheParentsScopeForbidsIt()
    {
        var (_, worker, root, proof) = await PlannerAsync(depth: 0);
        var result = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"));
        Assert.Equal(GrantErrorCode.DelegationForbidden, result.Error?.Code);
    }

    [Fact]
    public async Task Delegate_ChildMayNotKeepTheParentsDelegationDepth()
    {
        var (planner, _, root, proof) = await PlannerAsync(depth: 2);
        var result = await _s.DelegateAsync(root.TaskId, proof.Token, planner, Scenario.Scope(2, "ticket:read:*"));
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, result.Error?.Code);
        Assert.Equal("delegation-depth<=2", result.Error?.Permission);
    }

    [Fact]
    public async Task Delegate_RequiresALiveCredentialOfTheParentTask()
    {
        var (planner, worker, root, proof) = await PlannerAsync();
        var narrow = Scenario.Scope(0, "ticket:read:*");

        Assert.Equal(GrantErrorCode.InvalidProof, (await _s.DelegateAsync(root.TaskId, proof.Token[..^2], worker, narrow)).Error?.Code);
        var forged = ForgedTokens.For(proof.CredentialId);
        Assert.Equal(GrantErrorCode.InvalidProof, (await _s.DelegateAsync(root.TaskId, forged, worker, narrow)).Error?.Code);

        // A credential of another task of the same agent proves nothing about this one.
        var other = await _s.RootTaskAsync(planner, Scenario.Scope(1, "ticket:read:*"));
        var (_, otherProof) = await _s.CredentialAsync(planner, other.TaskId);
        Assert.Equal(GrantErrorCode.InvalidProof, (await _s.DelegateAsync(root.TaskId, otherProof.Token, worker, narrow)).Error?.Code);

        // The worker's own credential cannot be used to delegate from the planner's task.
        await _s.Client.RevokeCredentialAsync(proof.CredentialId, "test");
        Assert.Equal(GrantErrorCode.InvalidProof, (await _s.DelegateAsync(root.TaskId, proof.Token, worker, narrow)).Error?.Code);
        Assert.Empty((await _s.Client.GetTaskAsync(root.TaskId)).Value.Children);
    }

    [Fact]
    public async Task Delegate_StopsAtTheDepthLimit_EvenWhenAttemptedTenThousandDeep()
    {
        var ceiling = Scenario.Scope(Scope.MaxDelegationDepth, "doc:read:*");
        var agent = await _s.AgentAsync("recursive", ceiling);
        var task = await _s.RootTaskAsync(agent, ceiling);
        GrantError? error = null;
        var depth = 0;
        for (var attempt = 0; attempt < 10_000 && error is null; attempt++)
        {
            var (_, proof) = await _s.CredentialAsync(agent, task.TaskId);
            var child = await _s.DelegateAsync(task.TaskId, proof.Token, agent, Scenario.Scope(Scope.MaxDelegationDepth - attempt - 1, "doc:read:*"), TimeSpan.FromHours(1) - TimeSpan.FromMinutes(attempt));
            if (child.IsSuccess)
            {
                task = child.Value;
                depth = task.Depth;
            }
            else
            {
                error = child.Error;
            }
        }
        Assert.Equal(GrantErrorCode.DepthLimitExceeded, error?.Code);
        Assert.Equal(8, depth);
    }

    [Fact]
    public async Task Delegate_CountsOnlyLiveChildren_RevokingOneOf64LetsANewDelegationThrough()
    {
        var (_, worker, root, proof) = await PlannerAsync();
        var children = new List<TaskInfo>();
        for (var i = 0; i < 64; i++)
        {
            children.Add((await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"))).Value);
        }
        Assert.Equal(GrantErrorCode.FanOutLimitExceeded, (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"))).Error?.Code);

        Assert.True((await _s.Client.RevokeTaskAsync(children[17].TaskId, "not needed")).IsSuccess);
        var next = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"));
        Assert.True(next.IsSuccess, next.Error?.ToString());
        var live = (await _s.Client.GetTaskAsync(root.TaskId)).Value.Children;
        Assert.Equal(64, live.Count);
        Assert.DoesNotContain(children[17].TaskId, live);
        Assert.Contains(next.Value.TaskId, live);
        // Still 64 live: the next one is refused again.
        Assert.Equal(GrantErrorCode.FanOutLimitExceeded, (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"))).Error?.Code);
    }

    [Fact]
    public async Task Delegate_StopsAtTheFanOutLimit()
    {
        var (_, worker, root, proof) = await PlannerAsync();
        for (var i = 0; i < 64; i++)
        {
            Assert.True((await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"))).IsSuccess);
        }
        var result = await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "ticket:read:*"));
        Assert.Equal(GrantErrorCode.FanOutLimitExceeded, result.Error?.Code);
        Assert.Equal(64, (await _s.Client.GetTaskAsync(root.TaskId)).Value.Children.Count);
    }
}
