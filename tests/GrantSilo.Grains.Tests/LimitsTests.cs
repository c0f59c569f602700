using System.Collections.Concurrent;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Limits that match intent: quotas count live objects and refuse with a typed error past them, bulky sets never
/// ride on an end (so a kill switch works whatever an agent piled up), tracking is part of creating a task, and
/// the approval hub, the cascade monitor and the lease ledger are bounded.
/// </summary>
[Collection(LimitsClusterCollection.Name)]
public class LimitsTests(LimitsClusterFixture fixture)
{
    private readonly Scenario _s = new(() => fixture.Client);

    private static readonly Scope Reader = Scenario.Scope(0, "doc:read:*");

    // A task id of the longest form accepted.
    private static string LongestTaskId() => "t-" + new string('m', 94) + Guid.NewGuid().ToString("N");

    // A root task created under a chosen id, by the harness as orchestrator (straight to the task grain).
    private async Task<string> TaskWithIdAsync(string agent, string taskId)
    {
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        var created = await fixture.Cluster.Client.GetGrain<ITaskGrain>(taskId).CreateAsync(new CreateTaskRequest
        {
            Person = "person:alice@test.dev",
            Orchestrator = TestIdentity.HarnessName,
            Agent = agent,
            Scope = Reader,
            Lifetime = TimeSpan.FromHours(2),
        });
        Assert.True(created.IsSuccess, created.Error?.ToString());
        return taskId;
    }

    private async Task<(string Session, IssuedCredential Credential)> SessionWithCredentialAsync(string agent, string taskId)
    {
        var session = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        Assert.True(session.IsSuccess, session.Error?.ToString());
        var credential = await _s.Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = taskId });
        Assert.True(credential.IsSuccess, credential.Error?.ToString());
        return (session.Value.SessionId, credential.Value);
    }

    private static async Task InBatchesAsync<T>(IReadOnlyList<T> items, Func<T, Task> work, int width = 64)
    {
        for (var i = 0; i < items.Count; i += width)
        {
            await Task.WhenAll(items.Skip(i).Take(width).Select(work));
        }
    }

    [Fact]
    public async Task RevokingATaskWithThousandsOfSessions_IsOneSmallWrite_DeniesAtOnce_AndTheSessionQuotasHold()
    {
        var agent = await _s.AgentAsync("busy", Reader);
        var taskId = await TaskWithIdAsync(agent, LongestTaskId());
        FlakyGrainStorage.MeasuredKeys[taskId] = true;
        FlakyGrainStorage.MeasuredKeys[agent] = true;

        // Sessions first (an agent opens them one at a time), then a credential for the task in each.
        var sessions = new ConcurrentBag<string>();
        await InBatchesAsync(Enumerable.Range(0, LimitsClusterFixture.SessionsPerTask).ToList(), async _ =>
        {
            var session = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
            Assert.True(session.IsSuccess, session.Error?.ToString());
            sessions.Add(session.Value.SessionId);
        });
        var credentials = new ConcurrentBag<IssuedCredential>();
        await InBatchesAsync(sessions.ToList(), async session =>
        {
            var credential = await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = taskId });
            Assert.True(credential.IsSuccess, credential.Error?.ToString());
            credentials.Add(credential.Value);
        });
        Assert.Equal(LimitsClusterFixture.SessionsPerTask, credentials.Count);
        // The index holds every session (ids of 34 characters); the record holds none of them.
        Assert.True(FlakyGrainStorage.WrittenSizes[(taskId, "task-index")] > LimitsClusterFixture.SessionsPerTask * 34);

        // The task has as many live sessions as it may: another session of its agent gets a typed refusal.
        var extra = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
        var refused = await _s.Client.IssueCredentialAsync(extra.SessionId, new IssueCredentialRequest { TaskId = taskId });
        Assert.Equal(GrantErrorCode.QuotaExceeded, refused.Error?.Code);
        Assert.Contains(nameof(GrantSiloOptions.MaxLiveSessionsPerTask), refused.Error?.Message);

        // A task of the same shape with one session: its terminal write is the yardstick.
        var small = await TaskWithIdAsync(agent, LongestTaskId());
        FlakyGrainStorage.MeasuredKeys[small] = true;
        await SessionWithCredentialAsync(agent, small);
        Assert.True((await _s.Client.RevokeTaskAsync(small, "runaway agent")).IsSuccess);
        var smallEnd = FlakyGrainStorage.WrittenSizes[(small, "task")];

        FlakyGrainStorage.WrittenSizes.TryRemove((taskId, "task"), out _);
        var revoked = await _s.Client.RevokeTaskAsync(taskId, "runaway agent");
        Assert.True(revoked.IsSuccess, revoked.Error?.ToString());
        Assert.Equal(GrantTaskStatus.Revoked, revoked.Value.Status);
        var end = FlakyGrainStorage.WrittenSizes[(taskId, "task")];
        Assert.True(end < 2_048, $"The terminal write was {end} bytes.");
        Assert.True(Math.Abs(end - smallEnd) <= 16, $"The terminal write was {end} bytes with {credentials.Count} sessions, {smallEnd} with one.");

        // Every credential is denied the moment the revocation returns.
        var allowed = 0;
        await InBatchesAsync(credentials.ToList(), async credential =>
        {
            if ((await _s.AuthorizeAsync(credential, "read", "doc", "a")).Kind != DecisionKind.Deny)
            {
                Interlocked.Increment(ref allowed);
            }
        });
        Assert.Equal(0, allowed);

        // The agent's own quota: it may have 2,100 live sessions; it has 2,002.
        var open = (await _s.Client.GetAgentAsync(agent)).Value.LiveSessions;
        Assert.Equal(LimitsClusterFixture.SessionsPerTask + 2, open);
        await InBatchesAsync(Enumerable.Range(0, LimitsClusterFixture.SessionsPerAgent - open).ToList(), async _ =>
            Assert.True((await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).IsSuccess));
        var overQuota = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        Assert.Equal(GrantErrorCode.QuotaExceeded, overQuota.Error?.Code);
        // An ended session no longer counts.
        Assert.True((await _s.Client.EndSessionAsync(extra.SessionId, "done")).IsSuccess);
        Assert.True((await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).IsSuccess);

        // Suspending the agent is one small write too, though its index holds thousands of sessions.
        Assert.True(FlakyGrainStorage.WrittenSizes[(agent, "agent-index")] > LimitsClusterFixture.SessionsPerAgent * 34);
        var suspended = await _s.Client.SuspendAgentAsync(agent, "kill switch");
        Assert.True(suspended.IsSuccess, suspended.Error?.ToString());
        Assert.True(FlakyGrainStorage.WrittenSizes[(agent, "agent")] < 2_048, $"The suspension wrote {FlakyGrainStorage.WrittenSizes[(agent, "agent")]} bytes.");
        Assert.Equal(GrantErrorCode.AgentNotActive, (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Error?.Code);
    }

    // An agent with as many live tasks as its quota allows, and a request for one more.
    private async Task<(string Agent, List<TaskInfo> Tasks, CreateTaskRequest Request)> AgentAtItsTaskQuotaAsync(string role)
    {
        var agent = await _s.AgentAsync(role, Reader);
        var tasks = new List<TaskInfo>();
        for (var i = 0; i < LimitsClusterFixture.TasksPerAgent; i++)
        {
            tasks.Add(await _s.RootTaskAsync(agent, Reader));
        }
        return (agent, tasks, new CreateTaskRequest { Person = "person:alice@test.dev", Orchestrator = "orchestrator:test", Agent = agent, Scope = Reader, Lifetime = TimeSpan.FromHours(1) });
    }

    [Fact]
    public async Task TasksPerAgent_CountOnlyLiveTasks_AreRefusedPastTheQuota()
    {
        var (agent, tasks, request) = await AgentAtItsTaskQuotaAsync("orchestrated");
        var refused = await _s.Client.CreateTaskAsync(request);
        Assert.Equal(GrantErrorCode.QuotaExceeded, refused.Error?.Code);
        Assert.Contains(nameof(GrantSiloOptions.MaxLiveTasksPerAgent), refused.Error?.Message);
        Assert.Equal(LimitsClusterFixture.TasksPerAgent, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);

        Assert.True((await _s.Client.CompleteTaskAsync(tasks[0].TaskId, "done")).IsSuccess);
        var created = await _s.Client.CreateTaskAsync(request);
        Assert.True(created.IsSuccess, created.Error?.ToString());
        Assert.Equal(LimitsClusterFixture.TasksPerAgent, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
    }

    [Fact]
    public async Task TasksPerAgent_AtTheQuota_AskTheListedTasksOncePerRetryInterval_NotOnEveryRefusal()
    {
        var (agent, tasks, request) = await AgentAtItsTaskQuotaAsync("busy");
        // The first refusal asks every listed task (this activation's index came from storage): none has ended.
        Assert.Equal(GrantErrorCode.QuotaExceeded, (await _s.Client.CreateTaskAsync(request)).Error?.Code);

        // One task ends (its note reaches the agent), and a creation fails after the agent recorded it, its outcome
        // unknown to the task: the agent lists a task that does not exist, and no note will say so.
        Assert.True((await _s.Client.CompleteTaskAsync(tasks[0].TaskId, "done")).IsSuccess);
        Assert.Equal(LimitsClusterFixture.TasksPerAgent - 1, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
        var phantom = "t-" + Guid.NewGuid().ToString("N");
        // Activated (its empty state read) from inside the cluster: an outside caller's NotFound lets the activation go
        // (MadeUpIdTests), and this one must stay to fail its creation's write, not its read.
        Assert.Equal(GrantErrorCode.TaskNotFound, (await fixture.SiloGrains.GetGrain<ITaskGrain>(phantom).GetAsync()).Error?.Code);
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        FlakyGrainStorage.FailingKeys[phantom] = true;
        FlakyGrainStorage.FailingReads[phantom] = 1_000;
        try
        {
            var failed = await fixture.Cluster.Client.GetGrain<ITaskGrain>(phantom).CreateAsync(request with { Orchestrator = TestIdentity.HarnessName });
            Assert.Equal(GrantErrorCode.Unavailable, failed.Error?.Code);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(phantom, out _);
            FlakyGrainStorage.FailingReads.TryRemove(phantom, out _);
        }
        Assert.Equal(LimitsClusterFixture.TasksPerAgent, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);

        // Refusals at the quota do not each ask every listed task again (up to the quota's calls per attempt).
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(GrantErrorCode.QuotaExceeded, (await _s.Client.CreateTaskAsync(request)).Error?.Code);
        }

        // A retry interval later they are asked again: the task that never came to exist is dropped, and its place taken.
        fixture.Time.Advance(new GrantSiloOptions().CascadeRetryInterval);
        var created = await _s.Client.CreateTaskAsync(request);
        Assert.True(created.IsSuccess, created.Error?.ToString());
        Assert.Equal(LimitsClusterFixture.TasksPerAgent, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
    }

    [Fact]
    public async Task CredentialsPerSession_CountOnlyLiveCredentials_AndAreRefusedPastTheQuota()
    {
        var agent = await _s.AgentAsync("issuer", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;
        var issue = new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(1) };
        var issued = new List<IssuedCredential>();
        for (var i = 0; i < LimitsClusterFixture.CredentialsPerSession; i++)
        {
            issued.Add((await _s.Client.IssueCredentialAsync(session, issue)).Value);
        }
        Assert.Equal(GrantErrorCode.QuotaExceeded, (await _s.Client.IssueCredentialAsync(session, issue)).Error?.Code);

        // A revoked credential leaves the count (its session hears of it one-way).
        Assert.True((await _s.Client.RevokeCredentialAsync(issued[0].CredentialId, "rotated")).IsSuccess);
        var again = await Eventually.LastAsync(() => _s.Client.IssueCredentialAsync(session, issue), r => r.IsSuccess);
        Assert.True(again.IsSuccess, again.Error?.ToString());
        Assert.Equal(GrantErrorCode.QuotaExceeded, (await _s.Client.IssueCredentialAsync(session, issue)).Error?.Code);

        // So do expired ones, even before a tick enacted their expiry.
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        var afterExpiry = await _s.Client.IssueCredentialAsync(session, issue);
        Assert.True(afterExpiry.IsSuccess, afterExpiry.Error?.ToString());
        Assert.Equal(1, (await _s.Client.GetSessionAsync(session)).Value.LiveCredentials);
    }

    [Fact]
    public async Task CredentialsPerSession_DropEndedCredentialsWhoseRemovalNeverReachedStorage()
    {
        var agent = await _s.AgentAsync("issuer", Reader);
        var ended = await _s.RootTaskAsync(agent, Reader);
        var kept = await _s.RootTaskAsync(agent, Reader);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;
        Assert.Equal(3, LimitsClusterFixture.CredentialsPerSession);
        foreach (var taskId in new[] { ended.TaskId, ended.TaskId, kept.TaskId })
        {
            Assert.True((await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = taskId })).IsSuccess);
        }

        // The task's end ends its two credentials, but the session's index cannot be written: their removal is lost
        // (the deferred write fails, or the activation stops with it owed), and storage still lists them.
        FlakyGrainStorage.FailingKeys[session] = true;
        try
        {
            Assert.True((await _s.Client.RevokeTaskAsync(ended.TaskId, "incident")).IsSuccess);
            TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
            await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(session, out _);
        }
        Assert.Equal(3, (await _s.Client.GetSessionAsync(session)).Value.LiveCredentials);

        // At the quota, the session asks and drops the two that ended: the issuance goes through.
        var issued = await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = kept.TaskId });
        Assert.True(issued.IsSuccess, issued.Error?.ToString());
        Assert.Equal(2, (await _s.Client.GetSessionAsync(session)).Value.LiveCredentials);
    }

    [Fact]
    public async Task ATreeWithMoreBackgroundStepsThanSlots_EndsEveryTaskAndCredential_WithItsActivationsCold()
    {
        // Three levels below the root: 3 + 6 + 6 tasks ended from above, each with a credential, against 2 slots.
        var planner = await _s.AgentAsync("planner", Scenario.Scope(3, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, Scenario.Scope(3, "doc:read:*"));
        var (_, rootCredential) = await _s.CredentialAsync(planner, root.TaskId);
        var credentials = new List<IssuedCredential> { rootCredential };
        var level = new List<(TaskInfo Task, IssuedCredential Proof)> { (root, rootCredential) };
        foreach (var (depth, fanOut) in new[] { (2, 3), (1, 2), (0, 1) })
        {
            var next = new List<(TaskInfo, IssuedCredential)>();
            foreach (var (parent, proof) in level)
            {
                // An agent per task keeps every agent, session and task quota of this silo far off.
                var agent = await _s.AgentAsync($"worker-{credentials.Count}", Scenario.Scope(depth, "doc:read:*"));
                for (var i = 0; i < fanOut; i++)
                {
                    var child = await _s.DelegateAsync(parent, proof, agent, Scenario.Scope(depth, "doc:read:*"), TimeSpan.FromMinutes(30));
                    var (_, credential) = await _s.CredentialAsync(agent, child.TaskId);
                    credentials.Add(credential);
                    next.Add((child, credential));
                }
            }
            level = next;
        }
        Assert.Equal(16, credentials.Count);

        // Every activation gone: each task below reactivates from storage and outwaits its lease grace before it
        // answers, the slow step a slot must not be held for.
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        Assert.True((await _s.Client.RevokeTaskAsync(root.TaskId, "incident")).IsSuccess);
        await _s.TreeWhenAsync(root.TaskId, t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade == 0);
        foreach (var credential in credentials)
        {
            Assert.Equal(CredentialStatus.Revoked, (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value.Status);
            Assert.False((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
        }
    }

    [Fact]
    public async Task FailedTracking_MeansNoTask_AndNothingUsable()
    {
        var agent = await _s.AgentAsync("untracked", Reader);
        var taskId = "t-" + Guid.NewGuid().ToString("N");
        var request = new CreateTaskRequest { Person = "person:alice@test.dev", Orchestrator = TestIdentity.HarnessName, Agent = agent, Scope = Reader, Lifetime = TimeSpan.FromHours(1) };
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());

        // The agent cannot record the task: the creation fails, and no task exists.
        FlakyGrainStorage.FailingKeys[agent] = true;
        GrantResult<TaskInfo> created;
        try
        {
            created = await fixture.Cluster.Client.GetGrain<ITaskGrain>(taskId).CreateAsync(request);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(agent, out _);
        }
        Assert.Equal(GrantErrorCode.Unavailable, created.Error?.Code);
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.GetTaskAsync(taskId)).Error?.Code);
        Assert.Equal(0, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = taskId })).Error?.Code);

        // Nothing survives a suspension to come back with a resumption.
        Assert.True((await _s.Client.SuspendAgentAsync(agent, "check")).IsSuccess);
        Assert.True((await _s.Client.ResumeAgentAsync(agent, "checked")).IsSuccess);
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.GetTaskAsync(taskId)).Error?.Code);

        // Once the agent can record it, the same task is created and tracked.
        Assert.True((await fixture.Cluster.Client.GetGrain<ITaskGrain>(taskId).CreateAsync(request)).IsSuccess);
        Assert.Equal(1, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
    }

    [Fact]
    public async Task ApprovalHub_RefusesSubscriptionsAndStepUpsPastItsBounds()
    {
        var observers = new List<ApprovalSubscription>();
        try
        {
            for (var i = 0; i < LimitsClusterFixture.ApprovalSubscriptions; i++)
            {
                observers.Add((await _s.Client.SubscribeApprovalsAsync(new SilentObserver())).Value);
            }
            var refused = await _s.Client.SubscribeApprovalsAsync(new SilentObserver());
            Assert.Equal(GrantErrorCode.QuotaExceeded, refused.Error?.Code);
            await observers[0].DisposeAsync();
            observers.RemoveAt(0);
            var admitted = await _s.Client.SubscribeApprovalsAsync(new SilentObserver());
            Assert.True(admitted.IsSuccess, admitted.Error?.ToString());
            observers.Add(admitted.Value);
        }
        finally
        {
            foreach (var observer in observers)
            {
                await observer.DisposeAsync();
            }
        }

        await DenyAllPendingApprovalsAsync();
        try
        {
            // Two agents, each within its own share (PendingApprovalsPerAgent), fill the hub between them.
            var scope = Scenario.Scope(0, "secret:read:*");
            var first = await StepUpCredentialAsync("stepper", scope);
            var second = await StepUpCredentialAsync("stepper-2", scope);
            var approvals = new List<string>();
            for (var i = 0; i < LimitsClusterFixture.PendingApprovals; i++)
            {
                var token = i < LimitsClusterFixture.PendingApprovalsPerAgent ? first : second;
                var stepUp = await _s.Client.AuthorizeAsync(token, "read", new ResourceRef { Type = "secret", Path = $"db/{i}" });
                Assert.Equal(DecisionKind.StepUpRequired, stepUp.Kind);
                approvals.Add(stepUp.ApprovalId!);
            }
            // The hub lists as many undecided approvals as it may: a further step-up is a deny, and no approval is made.
            var full = await _s.Client.AuthorizeAsync(second, "read", new ResourceRef { Type = "secret", Path = "db/full" });
            Assert.Equal(DecisionKind.Deny, full.Kind);
            Assert.Null(full.ApprovalId);
            Assert.Contains(nameof(GrantSiloOptions.MaxPendingApprovals) + ".", full.Detail);
            Assert.Equal(LimitsClusterFixture.PendingApprovals, (await _s.Client.ListPendingApprovalsAsync()).Value.Count);

            // A decided approval frees its place.
            Assert.True((await _s.Client.DenyApprovalAsync(approvals[0], "person:bob@test.dev")).IsSuccess);
            var next = await Eventually.LastAsync(
                () => _s.Client.AuthorizeAsync(first, "read", new ResourceRef { Type = "secret", Path = "db/next" }),
                d => d.Kind == DecisionKind.StepUpRequired);
            Assert.Equal(DecisionKind.StepUpRequired, next.Kind);
        }
        finally
        {
            await DenyAllPendingApprovalsAsync();
        }
    }

    [Fact]
    public async Task ApprovalHub_OneAgentsStepUps_CannotFillTheHub_OtherAgentsStillStepUp()
    {
        await DenyAllPendingApprovalsAsync();
        try
        {
            var scope = Scenario.Scope(0, "secret:read:*");
            var flooder = await StepUpCredentialAsync("flooder", scope);
            var other = await StepUpCredentialAsync("bystander", scope);
            var mine = new List<string>();
            for (var i = 0; i < LimitsClusterFixture.PendingApprovalsPerAgent; i++)
            {
                var stepUp = await _s.Client.AuthorizeAsync(flooder, "read", new ResourceRef { Type = "secret", Path = $"loop/{i}" });
                Assert.Equal(DecisionKind.StepUpRequired, stepUp.Kind);
                mine.Add(stepUp.ApprovalId!);
            }

            // At its share, the agent's next step-up is a deny naming the setting, and no approval is made for it...
            var refused = await _s.Client.AuthorizeAsync(flooder, "read", new ResourceRef { Type = "secret", Path = "loop/again" });
            Assert.Equal(DecisionKind.Deny, refused.Kind);
            Assert.Null(refused.ApprovalId);
            Assert.Contains(nameof(GrantSiloOptions.MaxPendingApprovalsPerAgent), refused.Detail);
            var pending = (await _s.Client.ListPendingApprovalsAsync()).Value;
            Assert.Equal(LimitsClusterFixture.PendingApprovalsPerAgent, pending.Count(a => mine.Contains(a.ApprovalId)));

            // ...while the hub still has room for another agent's.
            var theirs = await _s.Client.AuthorizeAsync(other, "read", new ResourceRef { Type = "secret", Path = "db/report" });
            Assert.Equal(DecisionKind.StepUpRequired, theirs.Kind);

            // Deciding one of its approvals gives the agent its place back.
            Assert.True((await _s.Client.DenyApprovalAsync(mine[0], "person:bob@test.dev")).IsSuccess);
            var again = await Eventually.LastAsync(
                () => _s.Client.AuthorizeAsync(flooder, "read", new ResourceRef { Type = "secret", Path = "loop/after" }),
                d => d.Kind == DecisionKind.StepUpRequired);
            Assert.Equal(DecisionKind.StepUpRequired, again.Kind);
        }
        finally
        {
            await DenyAllPendingApprovalsAsync();
        }
    }

    // A registered agent with a root task over scope, and a credential of it.
    private async Task<string> StepUpCredentialAsync(string name, Scope scope)
    {
        var agent = await _s.AgentAsync(name, scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        return credential.Token;
    }

    // The hub is shared by the tests of this collection: each approval test starts and ends with nothing pending.
    private async Task DenyAllPendingApprovalsAsync()
    {
        foreach (var approval in (await _s.Client.ListPendingApprovalsAsync()).Value)
        {
            await _s.Client.DenyApprovalAsync(approval.ApprovalId, "person:bob@test.dev");
        }
        await Eventually.LastAsync(() => _s.Client.ListPendingApprovalsAsync(), l => l.Value.Count == 0);
    }

    [Fact]
    public async Task CascadeMonitor_RefusesNewReportsPastItsBound_AndStillUpdatesListedOnes()
    {
        // Reports come from the grains whose cascades are pending: inside the cluster (clients cannot report).
        var monitor = fixture.SiloGrains.GetGrain<ICascadeMonitorGrain>(0);
        var run = Guid.NewGuid().ToString("N");
        var listed = Enumerable.Range(0, LimitsClusterFixture.CascadesListed).Select(i => new PendingCascade { Kind = "task", Id = $"t-{run}-{i}", PendingSteps = 1 }).ToList();
        try
        {
            foreach (var pending in listed)
            {
                Assert.True((await monitor.ReportAsync(pending)).IsSuccess);
            }
            var extra = new PendingCascade { Kind = "task", Id = $"t-{run}-extra", PendingSteps = 1 };
            Assert.Equal(GrantErrorCode.QuotaExceeded, (await monitor.ReportAsync(extra)).Error?.Code);
            Assert.DoesNotContain(await monitor.ListAsync(), p => p.Id == extra.Id);

            // An entry already listed is still updated.
            Assert.True((await monitor.ReportAsync(listed[0] with { PendingSteps = 7 })).IsSuccess);
            Assert.Equal(7, (await monitor.ListAsync()).Single(p => p.Id == listed[0].Id).PendingSteps);

            await monitor.ResolveAsync("task", listed[1].Id);
            Assert.True((await monitor.ReportAsync(extra)).IsSuccess);
            listed[1] = extra;
        }
        finally
        {
            foreach (var pending in listed)
            {
                await monitor.ResolveAsync(pending.Kind, pending.Id);
            }
        }
    }

    [Fact]
    public async Task LeaseLedger_WhenFull_GrantsZeroLengthLeases_NeverUnrecordedOnes()
    {
        var lease = TimeSpan.FromSeconds(2);
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, lease, maxHolders: 2);
        var (a, b, c) = (GrainId.Create("credential", "a"), GrainId.Create("credential", "b"), GrainId.Create("credential", "c"));
        Assert.Equal(lease, ledger.Grant(a, lease));
        Assert.Equal(lease, ledger.Grant(b, lease));
        // Full: the third holder asks every time instead of holding a lease nobody would revoke.
        Assert.Equal(TimeSpan.Zero, ledger.Grant(c, lease));
        Assert.Equal(2, ledger.Count);
        // A recorded holder still renews.
        Assert.Equal(lease, ledger.Grant(a, lease));

        var told = new List<GrainId>();
        await ledger.RevokeAllAsync(h => { told.Add(h); return Task.CompletedTask; }, NullLogger.Instance);
        Assert.Equal(2, told.Count);
        Assert.Contains(a, told);
        Assert.Contains(b, told);

        // Once leases have run out, there is room again.
        ledger.Grant(a, lease);
        ledger.Grant(b, lease);
        clock.Advance(lease);
        Assert.Equal(lease, ledger.Grant(c, lease));
    }

    [Fact]
    public async Task OpenSession_GrantSiloChoosesTheSessionId_OnTheAgentItIsFor()
    {
        var agent = await _s.AgentAsync("opener", Reader);
        var other = await _s.AgentAsync("other", Reader);
        var opened = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        Assert.True(opened.IsSuccess, opened.Error?.ToString());
        Assert.Matches("^s-[0-9a-f]{32}$", opened.Value.SessionId);
        Assert.Equal(agent, opened.Value.Agent);

        // An agent opens sessions for itself only: even through its own agent grain, with its own token.
        TestIdentity.Attach(TestIdentity.Shared.AgentToken(agent));
        var elsewhere = await fixture.Cluster.Client.GetGrain<IAgentGrain>(agent).OpenSessionAsync(new OpenSessionRequest { Agent = other });
        Assert.Equal(GrantErrorCode.InvalidArgument, elsewhere.Error?.Code);
        Assert.Equal(1, (await _s.Client.GetAgentAsync(agent)).Value.LiveSessions);
        Assert.Equal(0, (await _s.Client.GetAgentAsync(other)).Value.LiveSessions);
    }

    [Fact]
    public async Task CreateTask_RefusesLongOrUnusualTaskIds_AndRecordsNothing()
    {
        var agent = await _s.AgentAsync("creator", Reader);
        var request = new CreateTaskRequest { Person = "person:alice@test.dev", Orchestrator = TestIdentity.HarnessName, Agent = agent, Scope = Reader, Lifetime = TimeSpan.FromHours(1) };
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        foreach (var id in new[] { LongestTaskId() + "x", "t/with/slashes", "t-caf\u00e9", "t with spaces" })
        {
            Assert.Equal(GrantErrorCode.InvalidIdentifier, (await fixture.Cluster.Client.GetGrain<ITaskGrain>(id).CreateAsync(request)).Error?.Code);
        }
        Assert.Equal(0, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
        Assert.True((await fixture.Cluster.Client.GetGrain<ITaskGrain>(LongestTaskId()).CreateAsync(request)).IsSuccess);
    }

    [Fact]
    public async Task StateWrittenBeforeTheIndex_IsMovedToTheIndexOnActivation_AndItsCascadeCompletes()
    {
        var storage = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrantSiloStorage.Name);
        var agent = await _s.AgentAsync("legacy", Reader);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;
        var taskId = "t-legacy-" + Guid.NewGuid().ToString("N");
        var ghost = "t-" + Guid.NewGuid().ToString("N");
        var grain = GrainId.Create("task", taskId);
        var now = fixture.Time.GetUtcNow();
        await storage.WriteStateAsync("task", grain, new GrainState<TaskState>(new TaskState
        {
            RootPerson = "person:alice@test.dev",
            Orchestrator = "orchestrator:test",
            Agent = agent,
            RootTaskId = taskId,
            Scope = Reader,
            CreatedAt = now,
            ExpiresAt = now + TimeSpan.FromHours(1),
            Status = GrantTaskStatus.Active,
            Children = [ghost],
            Sessions = [session],
        }));

        var info = await _s.Client.GetTaskAsync(taskId);
        Assert.True(info.IsSuccess, info.Error?.ToString());
        Assert.Equal([ghost], info.Value.Children);
        var record = new GrainState<TaskState>();
        await storage.ReadStateAsync("task", grain, record);
        Assert.Empty(record.State!.Children);
        Assert.Empty(record.State.Sessions);
        var index = new GrainState<TaskIndexState>();
        await storage.ReadStateAsync("task-index", grain, index);
        Assert.Equal([ghost], index.State!.Children.Select(c => c.TaskId).ToList());
        Assert.Equal([session], index.State.Sessions.ToList());

        // The moved entries are the cascade's to-do list: it reaches them and finishes.
        Assert.True((await _s.Client.RevokeTaskAsync(taskId, "legacy")).IsSuccess);
        var ended = await Eventually.LastAsync(async () => (await _s.Client.GetTaskAsync(taskId)).Value, t => t.PendingCascade == 0);
        Assert.Equal(0, ended.PendingCascade);
        Assert.Equal(GrantTaskStatus.Revoked, ended.Status);
    }

    private sealed class SilentObserver : IApprovalObserver
    {
        public Task OnApprovalRequestedAsync(ApprovalInfo approval) => Task.CompletedTask;

        public Task OnApprovalResolvedAsync(ApprovalInfo approval) => Task.CompletedTask;
    }
}
