using GrantSilo.Grains.Leases;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Decision leases: a warm credential decides without asking its task chain or session, and every
/// change that ends usability is in force for it the moment the change is acknowledged — the source
/// tells the holder first, or outwaits its lease when it cannot.
/// </summary>
[Collection(LeaseClusterCollection.Name)]
public class LeaseTests(LeaseClusterFixture fixture)
{
    private readonly Scenario _s = new(() => fixture.Client);
    private static LeaseProbe Probe => LeaseClusterFixture.Probe;
    private static FakeTimeProvider LeaseClock => LeaseClusterFixture.LeaseClock;

    private static GrainId Credential(IssuedCredential c) => GrainId.Create("credential", c.CredentialId);
    private static GrainId Task(string id) => GrainId.Create("task", id);
    private static GrainId Session(string id) => GrainId.Create("session", id);

    private async Task<(string Agent, TaskInfo Task, string Session, IssuedCredential Credential)> WarmAsync(TimeSpan? idle = null)
    {
        var ceiling = Scenario.Scope(2, "doc:read:*");
        var agent = await _s.AgentAsync("planner", ceiling);
        var task = await _s.RootTaskAsync(agent, ceiling);
        var session = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, IdleTimeout = idle });
        Assert.True(session.IsSuccess, session.Error?.ToString());
        var credential = (await _s.Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = task.TaskId })).Value;
        Assert.True((await Read(credential)).IsAllowed);
        return (agent, task, session.Value.SessionId, credential);
    }

    private Task<Decision> Read(IssuedCredential credential) => _s.AuthorizeAsync(credential, "read", "doc", "reports/q3");

    [Fact]
    public async Task WarmCredential_DecidesWithoutAskingItsTaskOrSession_UntilTheLeaseRunsOut()
    {
        var (_, task, session, credential) = await WarmAsync();
        Assert.Equal(1, Probe.Calls(Task(task.TaskId), "LeaseChainAsync"));
        Assert.Equal(1, Probe.Calls(Session(session), "LeaseAsync"));

        for (var i = 0; i < 50; i++)
        {
            Assert.True((await Read(credential)).IsAllowed);
        }
        Assert.Equal(1, Probe.Calls(Task(task.TaskId), "LeaseChainAsync"));
        Assert.Equal(1, Probe.Calls(Session(session), "LeaseAsync"));

        // Once the lease has run out, the next decision asks again (and takes a new lease).
        LeaseClock.Advance(LeaseClusterFixture.LeaseDuration);
        Assert.True((await Read(credential)).IsAllowed);
        Assert.True((await Read(credential)).IsAllowed);
        Assert.Equal(2, Probe.Calls(Task(task.TaskId), "LeaseChainAsync"));
        Assert.Equal(2, Probe.Calls(Session(session), "LeaseAsync"));
    }

    [Fact]
    public async Task RevokingTheTask_IsInForceForAWarmCredentialTheMomentItIsAcknowledged()
    {
        var (_, task, _, credential) = await WarmAsync();
        Assert.True((await _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn")).IsSuccess);
        Assert.True(Probe.Calls(Credential(credential), "InvalidateLeasesAsync") >= 1);
        var decision = await Read(credential);
        Assert.Equal(DecisionKind.Deny, decision.Kind);
    }

    [Fact]
    public async Task RevokingAnAncestor_ReachesWarmCredentialsOfDescendants_ThroughTheirTasks()
    {
        var ceiling = Scenario.Scope(2, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", ceiling);
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(1, "doc:read:*"))).Value;
        var (_, childProof) = await _s.CredentialAsync(worker, child.TaskId);
        var grandchild = (await _s.DelegateAsync(child.TaskId, childProof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (_, leaf) = await _s.CredentialAsync(worker, grandchild.TaskId);
        Assert.True((await Read(leaf)).IsAllowed);
        Assert.True((await Read(childProof)).IsAllowed);

        Assert.True((await _s.Client.RevokeTaskAsync(root.TaskId, "withdrawn")).IsSuccess);
        // Denied at once (the leases were dropped before the revocation was acknowledged; the cascade may
        // or may not have reached these credentials yet).
        Assert.False((await Read(leaf)).IsAllowed);
        Assert.False((await Read(childProof)).IsAllowed);
        Assert.True(Probe.Calls(Task(grandchild.TaskId), "InvalidateLeasesAsync") >= 1);
    }

    [Fact]
    public async Task EndingTheSession_IsInForceForAWarmCredentialAtOnce()
    {
        var (_, _, session, credential) = await WarmAsync();
        Assert.True((await _s.Client.EndSessionAsync(session, "done")).IsSuccess);
        Assert.True(Probe.Calls(Credential(credential), "InvalidateLeasesAsync") >= 1);
        Assert.False((await Read(credential)).IsAllowed);
    }

    [Fact]
    public async Task SuspendingTheAgent_IsInForceForAWarmCredentialAtOnce()
    {
        var (agent, task, _, credential) = await WarmAsync();
        Assert.True((await _s.Client.SuspendAgentAsync(agent, "investigating")).IsSuccess);
        // The agent told the task that leased its status, and the task told the credential.
        Assert.True(Probe.Calls(Task(task.TaskId), "InvalidateLeasesAsync") >= 1);
        Assert.True(Probe.Calls(Credential(credential), "InvalidateLeasesAsync") >= 1);
        Assert.False((await Read(credential)).IsAllowed);
    }

    [Fact]
    public async Task UnreachableHolder_TheRevocationIsAcknowledgedOnlyOnceItsLeaseHasRunOut()
    {
        var (_, task, _, credential) = await WarmAsync();
        var failed = Probe.MakeUnreachable(Credential(credential));
        try
        {
            var revoke = _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
            await failed.WaitAsync(TimeSpan.FromSeconds(30));
            // The holder could not be told; until its lease runs out it may still rely on it, so the
            // revocation is not acknowledged.
            Assert.False(revoke.IsCompleted);
            LeaseClock.Advance(LeaseClusterFixture.LeaseDuration + LeaseLedger.MarginFor(LeaseClusterFixture.LeaseDuration));
            var revoked = await revoke.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(GrantTaskStatus.Revoked, revoked.Value.Status);
            Assert.False((await Read(credential)).IsAllowed);
        }
        finally
        {
            Probe.MakeReachable(Credential(credential));
        }
    }

    [Fact]
    public async Task SessionActivity_StillReachesTheSession_WhileTheCredentialDecidesFromItsLease()
    {
        // A 4-minute idle timeout; a decision every 90 seconds for 9 minutes keeps the session alive
        // although the lease clock never moves (the credential reports activity once an eighth of the
        // idle time has passed since the session last saw it).
        var (_, _, session, credential) = await WarmAsync(idle: TimeSpan.FromMinutes(4));
        for (var i = 0; i < 6; i++)
        {
            LeaseClusterFixture.GrantClock.Advance(TimeSpan.FromSeconds(90));
            Assert.True((await Read(credential)).IsAllowed, $"decision {i}");
        }
        Assert.Equal(SessionStatus.Active, (await _s.Client.GetSessionAsync(session)).Value.Status);

        LeaseClusterFixture.GrantClock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(DecisionReason.SessionNotActive, (await Read(credential)).Reason);
    }

    [Fact]
    public async Task ExpiryAndCheckpoints_TravelWithTheLease_AndDenyAtTheExactInstant()
    {
        var ceiling = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", ceiling);
        var task = await _s.RootTaskAsync(agent, ceiling, lifetime: TimeSpan.FromHours(1), checkpoint: TimeSpan.FromMinutes(10));
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        Assert.True((await Read(credential)).IsAllowed);

        LeaseClusterFixture.GrantClock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1));
        Assert.True((await Read(credential)).IsAllowed);
        LeaseClusterFixture.GrantClock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(DecisionReason.TaskAwaitingReauthorization, (await Read(credential)).Reason);
    }
}

/// <summary>A reminder update that fails (its ring owner just died) is retried, so a pending cascade keeps a durable wake-up.</summary>
[Collection(LeaseClusterCollection.Name)]
public class ReminderRetryTests(LeaseClusterFixture fixture)
{
    private readonly Scenario _s = new(() => fixture.Client);

    [Fact]
    public async Task AFailedReminderUpdate_IsRetriedShortly_SoAPendingCascadeIsRetriedEvenAfterEverySiloStops()
    {
        var ceiling = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", ceiling);
        var task = await _s.RootTaskAsync(agent, ceiling, lifetime: TimeSpan.FromHours(2));
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var table = FlakyReminderTable.Instance!;
        var grain = GrainId.Create("task", task.TaskId);
        var original = table.Row(grain, "lifecycle")!.StartAt;

        // The credential cannot record its end (so the cascade stays pending) and the reminder cannot move.
        FlakyGrainStorage.FailingKeys[credential.CredentialId] = true;
        FlakyReminderTable.FailingKeys[task.TaskId] = true;
        try
        {
            var revoked = await _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
            Assert.Equal(1, revoked.Value.PendingCascade);
            Assert.Equal(original, table.Row(grain, "lifecycle")!.StartAt);

            // The reminder table recovers; within the retry delay the reminder is moved to the cascade retry,
            // not left at the task's expiry two hours away.
            FlakyReminderTable.FailingKeys.TryRemove(task.TaskId, out _);
            var moved = await Eventually.LastAsync(() => Task.FromResult(table.Row(grain, "lifecycle")!.StartAt), at => at < original);
            Assert.True(moved < original - TimeSpan.FromHours(1), $"still due at {moved:O}, first due at {original:O}");
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(credential.CredentialId, out _);
            FlakyReminderTable.FailingKeys.TryRemove(task.TaskId, out _);
        }
    }
}

/// <summary>The lease ledger on its own, with a fake lease clock.</summary>
public class LeaseLedgerTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private static readonly GrainId Holder = GrainId.Create("credential", "c1");

    [Fact]
    public void ManyHolders_ArePrunedInAmortizedConstantTime_AndLeasesThatRanOutStillMakeRoom()
    {
        var clock = new FakeTimeProvider();
        const int n = 20_000;
        var ledger = new LeaseLedger(clock, Lease, maxHolders: 30_000);
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(Lease, ledger.Grant(GrainId.Create("credential", $"c{i}"), Lease));
        }
        Assert.Equal(n, ledger.Count);
        // Pruning on every new holder would visit about n²/2 = 200,000,000 holders; doubling visits fewer than 2n.
        Assert.True(ledger.PruneVisits < 2 * n, $"{ledger.PruneVisits} holders visited for {n} grants");

        // The leases run out: the next prune (once the ledger has doubled) drops them, so the ledger stays bounded.
        clock.Advance(Lease);
        for (var i = 0; i < n; i++)
        {
            ledger.Grant(GrainId.Create("credential", $"d{i}"), Lease);
        }
        Assert.True(ledger.Count <= n + 1, $"{ledger.Count} holders after the first {n} ran out");
    }

    [Fact]
    public void AFullLedger_MakesRoomOnceALeaseHasRunOut_WithoutPruningOnEveryRefusal()
    {
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease, maxHolders: 300);
        for (var i = 0; i < 300; i++)
        {
            ledger.Grant(GrainId.Create("credential", $"c{i}"), Lease);
        }
        var visits = ledger.PruneVisits;
        for (var i = 0; i < 1_000; i++)
        {
            Assert.Equal(TimeSpan.Zero, ledger.Grant(GrainId.Create("credential", $"x{i}"), Lease));
        }
        // No lease can have run out yet: refusals do not scan the full ledger.
        Assert.Equal(visits, ledger.PruneVisits);
        clock.Advance(Lease);
        Assert.Equal(Lease, ledger.Grant(GrainId.Create("credential", "late"), Lease));
        Assert.Equal(1, ledger.Count);
    }

    [Fact]
    public void Grant_IsCappedByTheLeasesItRestsOn_AndZeroWhenLeasesAreOff()
    {
        var clock = new FakeTimeProvider();
        Assert.Equal(Lease, new LeaseLedger(clock, Lease).Grant(Holder, TimeSpan.FromMinutes(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), new LeaseLedger(clock, Lease).Grant(Holder, TimeSpan.FromSeconds(1)));
        var off = new LeaseLedger(clock, TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, off.Grant(Holder, TimeSpan.FromMinutes(1)));
        Assert.Equal(0, off.Count);
    }

    [Fact]
    public async Task RevokeAll_TellsEveryHolderWhoseLeaseMayStillRun_AndNoOneElse()
    {
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease);
        var early = GrainId.Create("credential", "early");
        ledger.Grant(early, Lease);
        clock.Advance(TimeSpan.FromSeconds(1));
        ledger.Grant(Holder, Lease);
        clock.Advance(TimeSpan.FromSeconds(1));
        var told = new List<GrainId>();
        await ledger.RevokeAllAsync(h => { told.Add(h); return System.Threading.Tasks.Task.CompletedTask; }, NullLogger.Instance);
        Assert.Equal([Holder], told);
        Assert.Equal(0, ledger.Count);
    }

    [Fact]
    public async Task RevokeAll_OutwaitsTheLeaseOfAHolderThatCannotBeTold()
    {
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease);
        ledger.Grant(Holder, Lease);
        var revoke = ledger.RevokeAllAsync(_ => System.Threading.Tasks.Task.FromException(new TimeoutException("gone")), NullLogger.Instance);
        Assert.False(revoke.IsCompleted);
        // Not at the lease's end: only once the margin for clock-rate differences has passed too.
        clock.Advance(Lease);
        Assert.False(revoke.IsCompleted);
        clock.Advance(ledger.Margin - TimeSpan.FromMilliseconds(1));
        Assert.False(revoke.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await revoke.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task RevokeAll_OutwaitsAHolderThatNeverAnswers()
    {
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease);
        ledger.Grant(Holder, Lease);
        var never = new TaskCompletionSource();
        var revoke = ledger.RevokeAllAsync(_ => never.Task, NullLogger.Instance);
        Assert.False(revoke.IsCompleted);
        clock.Advance(Lease);
        Assert.False(revoke.IsCompleted);
        clock.Advance(ledger.Margin);
        await revoke.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AfterReactivation_AChangeWaitsUntilLeasesOfAnEarlierActivationMustHaveRunOut()
    {
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease);
        ledger.StartGrace();
        var revoke = ledger.RevokeAllAsync(_ => System.Threading.Tasks.Task.CompletedTask, NullLogger.Instance);
        Assert.False(revoke.IsCompleted);
        clock.Advance(Lease);
        Assert.False(revoke.IsCompleted);
        clock.Advance(ledger.Margin);
        await revoke.WaitAsync(TimeSpan.FromSeconds(10));

        // Once the grace period is over, a change with no holders is acknowledged at once.
        Assert.True(ledger.RevokeAllAsync(_ => System.Threading.Tasks.Task.CompletedTask, NullLogger.Instance).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task OverlappingRevocations_EachWaitForAHolderStillBeingTold()
    {
        // Hole 3: the second invalidation of one ledger used to find it empty and return at once.
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease);
        ledger.Grant(Holder, Lease);
        var slow = new TaskCompletionSource();
        var tellings = 0;
        Task Invalidate(GrainId _)
        {
            tellings++;
            return slow.Task;
        }
        var first = ledger.RevokeAllAsync(Invalidate, NullLogger.Instance);
        var second = ledger.RevokeAllAsync(Invalidate, NullLogger.Instance);
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        Assert.Equal(1, tellings);
        Assert.Equal(1, ledger.Count);

        slow.SetResult();
        await System.Threading.Tasks.Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, ledger.Count);
    }

    [Fact]
    public async Task ALeaseGrantedWhileItsHolderIsBeingTold_IsToldAgainByTheNextRevocation()
    {
        var clock = new FakeTimeProvider();
        var ledger = new LeaseLedger(clock, Lease);
        ledger.Grant(Holder, Lease);
        var slow = new TaskCompletionSource();
        var told = 0;
        var first = ledger.RevokeAllAsync(_ => { told++; return told == 1 ? slow.Task : System.Threading.Tasks.Task.CompletedTask; }, NullLogger.Instance);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        ledger.Grant(Holder, Lease);
        var second = ledger.RevokeAllAsync(_ => { told++; return System.Threading.Tasks.Task.CompletedTask; }, NullLogger.Instance);
        // The newer lease is told on its own; its confirmation (the holder dropped everything) ends the second revocation.
        Assert.Equal(2, told);
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(first.IsCompleted);
        slow.SetResult();
        await System.Threading.Tasks.Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, ledger.Count);
    }

    [Fact]
    public async Task Outwaiting_IsNotEndedByATimerThatFiresEarly()
    {
        // Hole 4: Task.Delay and WaitAsync on a real clock can return a few milliseconds early.
        // Run without xunit's synchronization context, so every timer's continuation runs inside Advance.
        await System.Threading.Tasks.Task.Run(async () =>
        {
            var clock = new EarlyTimerClock { Early = TimeSpan.FromMilliseconds(400) };
            var ledger = new LeaseLedger(clock, Lease);
            ledger.Grant(Holder, Lease);
            var never = new TaskCompletionSource();
            var revoke = ledger.RevokeAllAsync(_ => never.Task, NullLogger.Instance);
            var start = clock.GetUtcNow();
            var acknowledgedAt = TimeSpan.MaxValue;
            // Records the lease-clock reading when the revocation completes (synchronously, where it completes).
            _ = revoke.ContinueWith(_ => acknowledgedAt = clock.GetUtcNow() - start, TaskContinuationOptions.ExecuteSynchronously);
            for (var step = 0; !revoke.IsCompleted && step < 10_000; step++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(10));
                await System.Threading.Tasks.Task.Yield();
            }
            await revoke.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(acknowledgedAt >= Lease + ledger.Margin, $"acknowledged {acknowledgedAt} into a {Lease} lease");
        });
    }
}
