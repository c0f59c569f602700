using GrantSilo.GrainInterfaces;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Orleans activates a call's target, and reads its state, before the door can refuse the call. A made-up id must not
/// leave that activation behind: each one would cost the silo memory until idle collection (15 minutes by default),
/// and a caller (authenticated or not) could make up ids as fast as the gateway takes calls.
/// </summary>
[Collection(ClusterCollection.Name)]
public class MadeUpIdTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    // Whether the grain is still activated once its deactivation (which follows the answer) has had time to run.
    private Task<bool> IsActiveAsync(GrainReference grain) =>
        Eventually.LastAsync(async () => await fixture.SiloGrains.GetGrain<IManagementGrain>(0).GetActivationAddress(grain) is not null, active => !active);

    private static string MadeUp(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task MadeUpIds_RefusedOrNotFound_LeaveNoActivationBehind()
    {
        // A person without any role, reading objects that do not exist: refused, and nothing stays activated.
        TestIdentity.Attach(TestIdentity.Shared.PersonToken("person:mallory@test.dev"));
        try
        {
            var task = fixture.Cluster.Client.GetGrain<ITaskGrain>(MadeUp("t"));
            Assert.Equal(GrantErrorCode.Forbidden, (await task.GetAsync()).Error?.Code);
            Assert.False(await IsActiveAsync((GrainReference)task), "The made-up task's activation outlived the refused call.");

            var session = fixture.Cluster.Client.GetGrain<ISessionGrain>(MadeUp("s"));
            Assert.Equal(GrantErrorCode.Forbidden, (await session.GetAsync()).Error?.Code);
            Assert.False(await IsActiveAsync((GrainReference)session), "The made-up session's activation outlived the refused call.");
        }
        finally
        {
            RequestContext.Clear();
        }

        // Without any token at all.
        var unauthenticated = fixture.Cluster.Client.GetGrain<IApprovalGrain>(MadeUp("ap"));
        Assert.Equal(GrantErrorCode.Unauthenticated, (await unauthenticated.GetAsync()).Error?.Code);
        Assert.False(await IsActiveAsync((GrainReference)unauthenticated), "The made-up approval's activation outlived the unauthenticated call.");

        // A caller the rules let read any task is told NotFound, and nothing stays activated either.
        var unknown = MadeUp("t");
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.GetTaskAsync(unknown)).Error?.Code);
        Assert.False(await IsActiveAsync((GrainReference)fixture.Cluster.Client.GetGrain<ITaskGrain>(unknown)), "The unknown task's activation outlived the NotFound answer.");
    }

    [Fact]
    public async Task AMalformedKey_RefusedBeforeTheDoor_LeavesNoActivationBehind()
    {
        var task = fixture.Cluster.Client.GetGrain<ITaskGrain>($"t with spaces {Guid.NewGuid():N}");
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await task.GetAsync()).Error?.Code);
        Assert.False(await IsActiveAsync((GrainReference)task), "The malformed key's activation outlived its refusal.");
    }

    [Fact]
    public async Task ARefusedCall_ToAnObjectThatExists_KeepsItsActivation()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("kept", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var grain = fixture.Cluster.Client.GetGrain<ITaskGrain>(task.TaskId);
        var management = fixture.SiloGrains.GetGrain<IManagementGrain>(0);
        var before = await management.GetActivationAddress((GrainReference)grain);
        Assert.NotNull(before);
        TestIdentity.Attach(TestIdentity.Shared.PersonToken("person:mallory@test.dev"));
        try
        {
            Assert.Equal(GrantErrorCode.Forbidden, (await grain.GetAsync()).Error?.Code);
        }
        finally
        {
            RequestContext.Clear();
        }
        // A call after the refusal reaches the same activation: had the refusal let it go, this call would have been
        // served by a new one (a deactivation, once requested, sends every later call to a fresh activation).
        Assert.True((await _s.Client.GetTaskAsync(task.TaskId)).IsSuccess);
        Assert.Equal(before, await management.GetActivationAddress((GrainReference)grain));
    }
}
