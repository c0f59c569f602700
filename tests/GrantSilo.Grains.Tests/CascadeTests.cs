using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Lifecycle;

namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class CascadeTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task FailedCascadeStep_IsVisibleAndRetriedUntilDone()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (_, childCredential) = await _s.CredentialAsync(worker, child.TaskId);

        FlakyGrainStorage.FailingKeys[child.TaskId] = true;
        try
        {
            var revoked = await _s.Client.RevokeTaskAsync(root.TaskId, "incident");
            Assert.Equal(GrantTaskStatus.Revoked, revoked.Value.Status);
            Assert.Equal(1, revoked.Value.PendingCascade);
            Assert.Contains((await _s.Client.ListPendingCascadesAsync()).Value, p => p.Id == root.TaskId && p.Kind == "task");
            // Correctness never waits for the cascade: the child already denies through its chain.
            Assert.Equal(DecisionKind.Deny, (await _s.AuthorizeAsync(childCredential, "read", "doc", "a")).Kind);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(child.TaskId, out _);
        }

        // The reminder's retry completes the cascade.
        await fixture.TickReminderAsync<ITaskGrain>(root.TaskId);
        var tree = await _s.TreeWhenAsync(root.TaskId, t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade == 0);
        Assert.All(tree.DescendantsAndSelf(), n => Assert.Equal(GrantTaskStatus.Revoked, n.Task.Status));
        Assert.Equal(0, tree.Task.PendingCascade);
        Assert.DoesNotContain((await _s.Client.ListPendingCascadesAsync()).Value, p => p.Id == root.TaskId);
    }

    [Fact]
    public async Task FailedCascadeStep_IsRetriedPromptlyByTheActiveGrain_WithoutWaitingForTheReminder()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;

        FlakyGrainStorage.FailingKeys[child.TaskId] = true;
        try
        {
            var revoked = await _s.Client.RevokeTaskAsync(root.TaskId, "incident");
            Assert.Equal(1, revoked.Value.PendingCascade);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(child.TaskId, out _);
        }

        // No reminder is delivered here (the in-memory reminder's first retry is a minute away): the
        // root's own retry timer, armed by the failed step, finishes the cascade.
        var tree = await _s.TreeWhenAsync(root.TaskId, t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade == 0);
        Assert.All(tree.DescendantsAndSelf(), n => Assert.Equal(GrantTaskStatus.Revoked, n.Task.Status));
        Assert.Equal(0, tree.Task.PendingCascade);
    }

    [Fact]
    public async Task ATreeEndingThroughSharedSessions_EndsEveryCredential_AndTheSessionsForgetThemDurably()
    {
        var ceiling = Scenario.Scope(2, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(1, "doc:read:*"));
        var leaf = await _s.AgentAsync("leaf", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        // One session of the worker holds the credentials of every worker task, and one of the leaf agent those of
        // every task below them: each task that ends asks its session for its own credentials only.
        var workerSession = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = worker })).Value.SessionId;
        var leafSession = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = leaf })).Value.SessionId;
        var credentials = new List<IssuedCredential>();
        for (var i = 0; i < 4; i++)
        {
            var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(1, "doc:read:*"))).Value;
            var childCredential = (await _s.Client.IssueCredentialAsync(workerSession, new IssueCredentialRequest { TaskId = child.TaskId })).Value;
            credentials.Add(childCredential);
            for (var j = 0; j < 2; j++)
            {
                var grandchild = (await _s.DelegateAsync(child.TaskId, childCredential.Token, leaf, Scenario.Scope(0, "doc:read:*"))).Value;
                credentials.Add((await _s.Client.IssueCredentialAsync(leafSession, new IssueCredentialRequest { TaskId = grandchild.TaskId })).Value);
            }
        }
        Assert.Equal(4, (await _s.Client.GetSessionAsync(workerSession)).Value.LiveCredentials);
        Assert.Equal(8, (await _s.Client.GetSessionAsync(leafSession)).Value.LiveCredentials);

        Assert.True((await _s.Client.RevokeTaskAsync(root.TaskId, "incident")).IsSuccess);
        await _s.TreeWhenAsync(root.TaskId, t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade == 0);
        foreach (var credential in credentials)
        {
            var info = (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value;
            Assert.Equal(CredentialStatus.Revoked, info.Status);
            Assert.Equal(DecisionReason.TaskRevoked, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Reason);
        }

        // The sessions stay open and list none of them; nor after every activation has gone and come back from
        // storage (their index's removals written by the deferred write, or as the activations stopped).
        Assert.Equal(0, (await _s.Client.GetSessionAsync(workerSession)).Value.LiveCredentials);
        Assert.Equal(0, (await _s.Client.GetSessionAsync(leafSession)).Value.LiveCredentials);
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(0, (await _s.Client.GetSessionAsync(workerSession)).Value.LiveCredentials);
        Assert.Equal(0, (await _s.Client.GetSessionAsync(leafSession)).Value.LiveCredentials);
        Assert.Equal(SessionStatus.Active, (await _s.Client.GetSessionAsync(leafSession)).Value.Status);
    }

    [Fact]
    public void CascadeRetryDelay_DoublesFromTheFirstDelay_UpToTheReminderPeriod()
    {
        var options = new GrantSilo.Grains.Hosting.GrantSiloOptions();
        var delays = Enumerable.Range(1, 9).Select(n => CascadeRunner.RetryDelay(options, n).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], delays);
        Assert.Equal(TimeSpan.FromMinutes(1), CascadeRunner.RetryDelay(options, int.MaxValue));
    }

    [Fact]
    public async Task FailedRevokeWrite_ReturnsUnavailable_AndChangesNothing()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        FlakyGrainStorage.FailingKeys[task.TaskId] = true;
        try
        {
            Assert.Equal(GrantErrorCode.Unavailable, (await _s.Client.RevokeTaskAsync(task.TaskId, "x")).Error?.Code);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(task.TaskId, out _);
        }
        // The caller was told it failed, so the durable truth (still active) stands.
        Assert.Equal(GrantTaskStatus.Active, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task SessionTick_EnactsCredentialExpiry()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, credential) = await _s.CredentialAsync(agent, task.TaskId, lifetime: TimeSpan.FromMinutes(1));

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        // Denied already (time is checked), and the tick records it.
        Assert.Equal(DecisionReason.CredentialExpired, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Reason);
        await fixture.TickReminderAsync<ISessionGrain>(session);
        var info = (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value;
        Assert.Equal(CredentialStatus.Expired, info.Status);
        Assert.Equal("lifetime ended", info.StatusReason);
        Assert.Equal(0, (await _s.Client.GetSessionAsync(session)).Value.LiveCredentials);
    }
}
