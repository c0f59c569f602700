using GrantSilo.Grains.Tasks;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A child-task spec sent straight to <see cref="ITaskLifecycleGrain.InitializeChildAsync"/> is refused to a
/// client at the door (the interface is internal); sent from inside the cluster (as by a forger in a silo,
/// through the silo's own grain factory) it is checked against its parent, its agent's ceiling and the limits: never wider, deeper or
/// longer-lived than the parent, never beyond its agent's ceiling, always under the parent's person, and only
/// ever a child the parent itself delegated. A refusal creates nothing.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ForgedChildTaskTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private async Task<(string Worker, TaskInfo Root, ChildTaskSpec Spec)> ParentAsync()
    {
        var ceiling = Scenario.Scope(2, "repo:*:acme/*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        // The spec the parent would send, except that the parent never recorded this child.
        var spec = new ChildTaskSpec
        {
            ParentTaskId = root.TaskId,
            RootTaskId = root.RootTaskId,
            Ancestors = [root.TaskId],
            AncestorAgents = [planner],
            RootPerson = root.RootPerson,
            Orchestrator = root.Orchestrator,
            Agent = worker,
            Scope = Scenario.Scope(0, "repo:read:acme/docs/*"),
            ExpiresAt = fixture.Time.GetUtcNow() + TimeSpan.FromMinutes(30),
            Depth = 1,
        };
        return (worker, root, spec);
    }

    private async Task<GrantError?> ForgeAndCheckNothingCreatedAsync(string worker, TaskInfo root, ChildTaskSpec spec)
    {
        var childId = TaskGrain.NewTaskId();
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        var fromClient = await fixture.Cluster.Client.GetGrain<ITaskLifecycleGrain>(childId).InitializeChildAsync(spec);
        Assert.Equal(GrantErrorCode.Forbidden, fromClient.Error?.Code);
        var result = await fixture.SiloGrains.GetGrain<ITaskLifecycleGrain>(childId).InitializeChildAsync(spec);
        Assert.False(result.IsSuccess);
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.GetTaskAsync(childId)).Error?.Code);
        Assert.Empty((await _s.Client.GetTaskAsync(root.TaskId)).Value.Children);
        Assert.Empty((await _s.Client.ListAgentTasksAsync(worker)).Value.Items);
        return result.Error;
    }

    [Fact]
    public async Task InitializeChild_RefusesAScopeBeyondItsAgentsCeiling()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { Scope = Scenario.Scope(0, "repo:write:acme/x") });
        Assert.Equal(GrantErrorCode.ScopeExceedsCeiling, error?.Code);
        Assert.Equal("repo:write:acme/x", error?.Permission);
    }

    [Fact]
    public async Task InitializeChild_RefusesAScopeWiderThanItsParent()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { Scope = Scenario.Scope(0, "db:*:*") });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("db:*:*", error?.Permission);
    }

    [Fact]
    public async Task InitializeChild_RefusesADelegationDepthNotNarrowerThanItsParents()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { Scope = Scenario.Scope(2, "repo:read:acme/docs/*") });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("delegation-depth<=2", error?.Permission);
    }

    [Fact]
    public async Task InitializeChild_RefusesAForgedRootPerson()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { RootPerson = "person:mallory@evil.dev" });
        Assert.Equal(GrantErrorCode.InvalidArgument, error?.Code);
    }

    [Fact]
    public async Task InitializeChild_RefusesAForgedDepthOrAncestry()
    {
        var (worker, root, spec) = await ParentAsync();
        Assert.Equal(GrantErrorCode.InvalidArgument, (await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { Depth = 0 }))?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { Ancestors = [] }))?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { Orchestrator = "orchestrator:forged" }))?.Code);
    }

    [Fact]
    public async Task InitializeChild_RefusesOutlivingItsParent()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { ExpiresAt = root.ExpiresAt + TimeSpan.FromMinutes(1) });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, error?.Code);
    }

    [Fact]
    public async Task InitializeChild_RefusesAnUnknownParent()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec with { ParentTaskId = TaskGrain.NewTaskId() });
        Assert.Equal(GrantErrorCode.TaskNotFound, error?.Code);
    }

    [Fact]
    public async Task InitializeChild_RefusesAPerfectSpecTheParentNeverDelegated()
    {
        var (worker, root, spec) = await ParentAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(worker, root, spec);
        Assert.Equal(GrantErrorCode.InvalidArgument, error?.Code);
    }
}
