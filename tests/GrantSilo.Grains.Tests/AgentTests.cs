using GrantSilo.GrainInterfaces;

namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class AgentTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task RetireAgent_EndsEverythingForGood()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (plannerSession, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (_, workerCredential) = await _s.CredentialAsync(worker, child.TaskId);

        var retired = await _s.Client.RetireAgentAsync(planner, "decommissioned");
        Assert.Equal(AgentStatus.Retired, retired.Value.Status);
        Assert.Equal(0, retired.Value.PendingCascade);

        // The planner's task, and so the worker's task below it, are ended; so is the planner's session.
        Assert.Equal(DecisionKind.Deny, (await _s.AuthorizeAsync(proof, "read", "doc", "a")).Kind);
        Assert.Equal(DecisionKind.Deny, (await _s.AuthorizeAsync(workerCredential, "read", "doc", "a")).Kind);
        Assert.Equal(SessionStatus.Ended, (await _s.Client.GetSessionAsync(plannerSession)).Value.Status);
        var tree = await _s.TreeWhenAsync(root.TaskId, t => t.Status == GrantTaskStatus.Revoked);
        Assert.All(tree.DescendantsAndSelf(), n => Assert.Equal(GrantTaskStatus.Revoked, n.Task.Status));

        // Retired is final: no resume, no new sessions, no re-registration under the same id.
        Assert.Equal(GrantErrorCode.InvalidState, (await _s.Client.ResumeAgentAsync(planner, "oops")).Error?.Code);
        Assert.Equal(GrantErrorCode.AgentNotActive, (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Error?.Code);
        Assert.Equal(GrantErrorCode.AgentAlreadyExists, (await _s.Client.RegisterAgentAsync(planner, new AgentRegistration { Owner = "person:owner@test.dev", Ceiling = ceiling })).Error?.Code);

        // The worker itself is untouched and can take new work.
        Assert.Equal(AgentStatus.Active, (await _s.Client.GetAgentAsync(worker)).Value.Status);
    }

    [Fact]
    public async Task Agent_TracksItsLiveTasksAndSessions()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, _) = await _s.CredentialAsync(agent, task.TaskId);

        // Tracking is part of creating a task: the agent counts it once creation has returned.
        var info = (await _s.Client.GetAgentAsync(agent)).Value;
        Assert.Equal(1, info.LiveTasks);
        Assert.Equal(1, info.LiveSessions);

        await _s.Client.CompleteTaskAsync(task.TaskId, "done");
        await _s.Client.EndSessionAsync(session, "done");
        info = await Eventually.LastAsync(async () => (await _s.Client.GetAgentAsync(agent)).Value, a => a.LiveTasks == 0 && a.LiveSessions == 0);
        Assert.Equal(0, info.LiveTasks);
        Assert.Equal(0, info.LiveSessions);
    }

    // A SPIFFE id of exactly `length` characters, valid in every other way.
    internal static string WorkloadIdOfLength(int length)
    {
        var id = $"spiffe://test.dev/{Guid.NewGuid():N}/";
        return id + new string('w', length - id.Length);
    }

    [Fact]
    public async Task RegisterAgent_RefusesAnIdTooLongForItsDurableWakeUp_AndTakesTheLongestThatFits()
    {
        var ceiling = Scenario.Scope(0, "doc:read:*");
        var registration = new AgentRegistration { Owner = "person:owner@test.dev", Ceiling = ceiling };
        var tooLong = WorkloadIdOfLength(WorkloadId.MaxRegisteredLength + 1);
        Assert.True(WorkloadId.Validate(tooLong).IsSuccess);

        var refused = await _s.Client.RegisterAgentAsync(tooLong, registration);

        Assert.Equal(GrantErrorCode.InvalidIdentifier, refused.Error?.Code);
        Assert.Contains($"at most {WorkloadId.MaxRegisteredLength} characters", refused.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(GrantErrorCode.AgentNotFound, (await _s.Client.GetAgentAsync(tooLong)).Error?.Code);

        var longest = WorkloadIdOfLength(WorkloadId.MaxRegisteredLength);
        Assert.Equal(AgentStatus.Active, (await _s.Client.RegisterAgentAsync(longest, registration)).Value.Status);
        // Its grain id is what the reminder row key is made of (GrantSilo.Persistence.AzureTables.Tests checks that it fits).
        Assert.Equal($"agent/{longest}", fixture.Cluster.Client.GetGrain<IAgentGrain>(longest).GetGrainId().ToString());
    }
}
