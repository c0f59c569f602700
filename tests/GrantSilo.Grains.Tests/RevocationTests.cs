using GrantSilo.GrainInterfaces;

namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class RevocationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    /// <summary>A 3-level tree: root (planner) → 3 children → 2 grandchildren each, with a credential on every node.</summary>
    private async Task<(TaskInfo Root, List<(TaskInfo Task, IssuedCredential Credential)> Nodes)> TreeAsync()
    {
        var ceiling = Scenario.Scope(3, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", ceiling);
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, rootCredential) = await _s.CredentialAsync(planner, root.TaskId);
        var nodes = new List<(TaskInfo, IssuedCredential)> { (root, rootCredential) };
        for (var i = 0; i < 3; i++)
        {
            var child = (await _s.DelegateAsync(root.TaskId, rootCredential.Token, worker, Scenario.Scope(2, $"doc:read:c{i}/*"))).Value;
            var (_, childCredential) = await _s.CredentialAsync(worker, child.TaskId);
            nodes.Add((child, childCredential));
            for (var j = 0; j < 2; j++)
            {
                var grandchild = (await _s.DelegateAsync(child.TaskId, childCredential.Token, worker, Scenario.Scope(0, $"doc:read:c{i}/g{j}/*"))).Value;
                var (_, grandchildCredential) = await _s.CredentialAsync(worker, grandchild.TaskId);
                nodes.Add((grandchild, grandchildCredential));
            }
        }
        return (root, nodes);
    }

    private static string PathFor(TaskInfo task) => task.Scope.Permissions[0].Pattern.Prefix is { Length: > 0 } prefix ? prefix + "/x" : "x";

    [Fact]
    public async Task RevokeRoot_DeniesEveryNodeOfTheTree_AndEndsEveryNode()
    {
        var (root, nodes) = await TreeAsync();
        foreach (var (task, credential) in nodes)
        {
            Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", PathFor(task))).IsAllowed);
        }

        var revoked = await _s.Client.RevokeTaskAsync(root.TaskId, "person withdrew consent");
        Assert.Equal(GrantTaskStatus.Revoked, revoked.Value.Status);

        // Denied the moment revoke returns, at every depth, before the cascade reaches it.
        foreach (var (task, credential) in nodes)
        {
            var decision = await _s.AuthorizeAsync(credential, "read", "doc", PathFor(task));
            Assert.Equal(DecisionKind.Deny, decision.Kind);
        }

        var tree = await _s.TreeWhenAsync(root.TaskId, t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade == 0);
        Assert.Equal(10, tree.DescendantsAndSelf().Count());
        Assert.All(tree.DescendantsAndSelf(), n => Assert.Equal(GrantTaskStatus.Revoked, n.Task.Status));
        foreach (var (_, credential) in nodes)
        {
            Assert.Equal(CredentialStatus.Revoked, (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value.Status);
        }
    }

    [Fact]
    public async Task RevokeMiddleNode_EndsItsSubtreeOnly()
    {
        var (root, nodes) = await TreeAsync();
        var middle = nodes[1].Task;
        await _s.Client.RevokeTaskAsync(middle.TaskId, "compromised worker");

        foreach (var (task, credential) in nodes)
        {
            var underMiddle = task.TaskId == middle.TaskId || task.ParentTaskId == middle.TaskId;
            var decision = await _s.AuthorizeAsync(credential, "read", "doc", PathFor(task));
            Assert.Equal(!underMiddle, decision.IsAllowed);
            if (underMiddle)
            {
                // The task itself, or (once the cascade reached it) the credential, is revoked.
                Assert.Contains(decision.Reason, new[] { DecisionReason.TaskRevoked, DecisionReason.CredentialRevoked });
            }
        }
        Assert.Equal(GrantTaskStatus.Active, (await _s.Client.GetTaskAsync(root.TaskId)).Value.Status);
    }

    [Fact]
    public async Task Complete_EndsDescendants_AndIsIdempotent()
    {
        var (root, nodes) = await TreeAsync();
        Assert.Equal(GrantTaskStatus.Completed, (await _s.Client.CompleteTaskAsync(root.TaskId, "done")).Value.Status);
        Assert.Equal(GrantTaskStatus.Completed, (await _s.Client.CompleteTaskAsync(root.TaskId, "done again")).Value.Status);
        var tree = await _s.TreeWhenAsync(root.TaskId, t => t.IsTerminal && t.PendingCascade == 0);
        Assert.Equal(GrantTaskStatus.Completed, tree.Task.Status);
        Assert.All(tree.DescendantsAndSelf().Skip(1), n => Assert.Equal(GrantTaskStatus.Revoked, n.Task.Status));
        // The root's own credential ended because its task completed; a descendant's because its task was revoked.
        Assert.Equal(DecisionReason.TaskCompleted, (await _s.AuthorizeAsync(nodes[0].Credential, "read", "doc", PathFor(nodes[0].Task))).Reason);
        Assert.Equal(DecisionReason.TaskRevoked, (await _s.AuthorizeAsync(nodes[^1].Credential, "read", "doc", PathFor(nodes[^1].Task))).Reason);

        // Terminal states absorb: revoking a completed task changes nothing, and says it had already ended.
        var late = await _s.Client.RevokeTaskAsync(root.TaskId, "late");
        Assert.Equal(GrantErrorCode.AlreadyEnded, late.Error?.Code);
        Assert.Equal(GrantTaskStatus.Completed, (await _s.Client.GetTaskAsync(root.TaskId)).Value.Status);
    }

    [Fact]
    public async Task SuspendedAgent_CredentialsAreDenied_AndItsTasksEnd()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, credential) = await _s.CredentialAsync(agent, task.TaskId);

        var suspended = await _s.Client.SuspendAgentAsync(agent, "anomalous behaviour");
        Assert.Equal(AgentStatus.Suspended, suspended.Value.Status);
        Assert.Equal(DecisionKind.Deny, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Kind);
        Assert.Equal(GrantTaskStatus.Revoked, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);
        Assert.Equal(SessionStatus.Ended, (await _s.Client.GetSessionAsync(session)).Value.Status);

        // New work for a suspended agent is refused; resuming does not bring the old grants back.
        var refused = await _s.Client.CreateTaskAsync(new CreateTaskRequest { Person = "p", Orchestrator = "o", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) });
        Assert.Equal(GrantErrorCode.AgentNotActive, refused.Error?.Code);
        await _s.Client.ResumeAgentAsync(agent, "investigated");
        Assert.Equal(DecisionKind.Deny, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Kind);
    }

    [Fact]
    public async Task Checkpoint_BlocksTheTaskAndItsDescendants_UntilReauthorized()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling, TimeSpan.FromHours(2), checkpoint: TimeSpan.FromMinutes(10));
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (session, childCredential) = await _s.CredentialAsync(worker, child.TaskId);

        fixture.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(DecisionReason.TaskAwaitingReauthorization, (await _s.AuthorizeAsync(childCredential, "read", "doc", "a")).Reason);
        Assert.Equal(GrantTaskStatus.AwaitingReauthorization, (await _s.Client.GetTaskAsync(root.TaskId)).Value.Status);
        var blocked = await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = child.TaskId });
        Assert.Equal(GrantErrorCode.TaskNotUsable, blocked.Error?.Code);

        var reauthorized = await _s.Client.ReauthorizeTaskAsync(root.TaskId);
        Assert.True(reauthorized.IsSuccess, reauthorized.Error?.ToString());
        Assert.Equal(fixture.Time.GetUtcNow() + TimeSpan.FromMinutes(10), reauthorized.Value.CheckpointDueAt);
        Assert.True((await _s.AuthorizeAsync(childCredential, "read", "doc", "a")).IsAllowed);

        // Re-authorization is a fresh check: with the agent suspended it is refused.
        fixture.Time.Advance(TimeSpan.FromMinutes(10));
        var again = await _s.Client.ReauthorizeTaskAsync(child.TaskId);
        Assert.Equal(GrantErrorCode.InvalidState, again.Error?.Code);
    }

    [Fact]
    public async Task DoubledAndMissedReminderTicks_LeaveTheSameState()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var once = await _s.RootTaskAsync(agent, scope, TimeSpan.FromMinutes(30), checkpoint: TimeSpan.FromMinutes(10));
        var twice = await _s.RootTaskAsync(agent, scope, TimeSpan.FromMinutes(30), checkpoint: TimeSpan.FromMinutes(10));
        var missed = await _s.RootTaskAsync(agent, scope, TimeSpan.FromMinutes(30), checkpoint: TimeSpan.FromMinutes(10));

        fixture.Time.Advance(TimeSpan.FromMinutes(10));
        await TickAsync(once.TaskId);
        await TickAsync(twice.TaskId);
        await TickAsync(twice.TaskId);
        // 'missed' gets no tick at the checkpoint.

        fixture.Time.Advance(TimeSpan.FromMinutes(20));
        foreach (var id in new[] { once.TaskId, twice.TaskId, missed.TaskId })
        {
            await TickAsync(id);
        }
        await TickAsync(twice.TaskId);

        var states = new List<(GrantTaskStatus, string?)>();
        foreach (var id in new[] { once.TaskId, twice.TaskId, missed.TaskId })
        {
            var info = (await _s.Client.GetTaskAsync(id)).Value;
            states.Add((info.Status, info.StatusReason));
        }
        Assert.All(states, s => Assert.Equal((GrantTaskStatus.Expired, "lifetime ended"), s));
    }

    private Task TickAsync(string taskId) => fixture.TickReminderAsync<ITaskGrain>(taskId);
}
