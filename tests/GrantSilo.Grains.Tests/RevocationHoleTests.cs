using GrantSilo.Grains.Leases;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The interleavings a review found in the decision-lease protocol, one deterministic test each. Every
/// test asserts the promise itself: an Authorize invoked after an end was acknowledged is denied. The
/// lease clock only moves when a test moves it, so a warm credential would be allowed for as long as
/// the test likes if an end were acknowledged before its lease was dealt with.
/// </summary>
[Collection(LeaseClusterCollection.Name)]
public class RevocationHoleTests(LeaseClusterFixture fixture)
{
    // How long a test watches for an acknowledgement that must not come yet. Only catching a broken
    // implementation depends on it; a correct one passes however short it is.
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(2);

    private readonly Scenario _s = new(() => fixture.Client);
    private static LeaseProbe Probe => LeaseClusterFixture.Probe;
    private static EarlyTimerClock LeaseClock => LeaseClusterFixture.LeaseClock;
    private static TimeSpan LeaseAndMargin => LeaseClusterFixture.LeaseDuration + LeaseLedger.MarginFor(LeaseClusterFixture.LeaseDuration);

    private Task<Decision> Read(IssuedCredential credential) => _s.AuthorizeAsync(credential, "read", "doc", "reports/q3");

    private async Task<(string Agent, TaskInfo Task, IssuedCredential Credential)> WarmAsync()
    {
        var ceiling = Scenario.Scope(2, "doc:read:*");
        var agent = await _s.AgentAsync("planner", ceiling);
        var task = await _s.RootTaskAsync(agent, ceiling);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        Assert.True((await Read(credential)).IsAllowed);
        return (agent, task, credential);
    }

    private static async Task<bool> CompletesWithin(Task task, TimeSpan window) =>
        await Task.WhenAny(task, Task.Delay(window)) == task;

    [Fact]
    public async Task Hole1_AnEndWhoseReplyWasLost_IsAcknowledgedOnRetryOnlyOnceEveryLeaseOnItIsDealtWith()
    {
        var (_, task, credential) = await WarmAsync();

        // The terminal write commits, its reply is lost, and the read-back fails too: the outcome is unknown.
        FlakyGrainStorage.CommitThenFailKeys[task.TaskId] = true;
        FlakyGrainStorage.FailingReads[task.TaskId] = 1;
        var first = await _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
        Assert.Equal(GrantErrorCode.Unavailable, first.Error?.Code);

        // The retry finds the task already revoked (in storage, perhaps through a new activation). It must
        // not acknowledge while the warm credential may still rely on a lease granted before.
        var retry = RetryUntilAcknowledgedAsync(() => _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn"));
        var early = await CompletesWithin(retry, Watch);
        if (early)
        {
            Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
        }
        // The activation that answers the retry may only start after a first step of the lease clock
        // (the unsettled one must deactivate first), so step until the retry is acknowledged.
        var acknowledged = await AdvanceUntilDoneAsync(retry);
        Assert.Equal(GrantTaskStatus.Revoked, acknowledged.Status);
        Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
    }

    [Fact]
    public async Task Hole1_AFailedEndNeverLeavesTheGrainServingAUsableState()
    {
        var (_, task, credential) = await WarmAsync();
        LeaseClock.Advance(LeaseAndMargin);
        // The write commits and its reply is lost; the read-back succeeds and shows what storage holds.
        FlakyGrainStorage.CommitThenFailKeys[task.TaskId] = true;
        var revoked = await RetryUntilAcknowledgedAsync(() => _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn"));
        Assert.Equal(GrantTaskStatus.Revoked, revoked.Status);
        Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
        Assert.Equal(GrantTaskStatus.Revoked, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);
    }

    [Fact]
    public async Task Hole2_AnEndIsNotAcknowledgedBySiloWhoseLeaseLapsedDuringTheWrite()
    {
        var (_, task, credential) = await WarmAsync();
        var held = FlakyGrainStorage.Hold(task.TaskId);
        var revoke = _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
        try
        {
            await held.WaitAsync(TimeSpan.FromSeconds(30));
            // While the write is delayed, this silo loses its membership lease (declared dead elsewhere).
            LeaseClusterFixture.SiloLease.Lapsed = true;
            FlakyGrainStorage.Release(task.TaskId);
            var answer = await revoke.WaitAsync(TimeSpan.FromSeconds(30));
            // A newer activation elsewhere may have loaded the old state: this silo must not acknowledge.
            Assert.Equal(GrantErrorCode.Unavailable, answer.Error?.Code);
            Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
        }
        finally
        {
            LeaseClusterFixture.SiloLease.Lapsed = false;
            FlakyGrainStorage.Release(task.TaskId);
        }
        var retried = await RetryUntilAcknowledgedAsync(() => _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn"));
        Assert.Equal(GrantTaskStatus.Revoked, retried.Status);
        Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
    }

    [Fact]
    public async Task Hole3_OverlappingInvalidations_TheRootWaitsForASlowHolderAnEarlierChangeIsStillTelling()
    {
        var ceiling = Scenario.Scope(2, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", ceiling);
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(1, "doc:read:*"))).Value;
        var (_, slow) = await _s.CredentialAsync(worker, child.TaskId);
        Assert.True((await Read(slow)).IsAllowed);
        var slowId = GrainId.Create("credential", slow.CredentialId);
        var childId = GrainId.Create("task", child.TaskId);

        // The worker is suspended; its task starts telling the slow credential, which does not answer yet.
        // (Nor can the cascade record the credential's own end: only its lease stands between it and an allow.)
        Probe.Fail(slowId, "EndFromAboveAsync");
        var entered = Probe.Hold(slowId);
        var suspend = _s.Client.SuspendAgentAsync(worker, "investigating");
        try
        {
            await entered.WaitAsync(TimeSpan.FromSeconds(30));
            var invalidationsBefore = Probe.Calls(childId, "InvalidateLeasesAsync");

            // Then the root is revoked: the child's second invalidation must not return while the slow
            // credential may still rely on its lease.
            var revoke = _s.Client.RevokeTaskAsync(root.TaskId, "withdrawn");
            await Eventually.LastAsync(() => Task.FromResult(Probe.Calls(childId, "InvalidateLeasesAsync")), n => n > invalidationsBefore);
            if (await CompletesWithin(revoke, Watch))
            {
                Assert.Equal(DecisionKind.Deny, (await Read(slow)).Kind);
            }
            Probe.Release(slowId);
            Assert.True((await revoke.WaitAsync(TimeSpan.FromSeconds(30))).IsSuccess);
            Assert.Equal(DecisionKind.Deny, (await Read(slow)).Kind);
            Assert.True((await suspend.WaitAsync(TimeSpan.FromSeconds(30))).IsSuccess);
        }
        finally
        {
            Probe.Release(slowId);
            Probe.Heal(slowId, "EndFromAboveAsync");
        }
    }

    [Fact]
    public async Task Hole4_ATimerThatFiresEarly_NeverEndsTheOutwaitingOfAnUnreachableHolder()
    {
        var (_, task, credential) = await WarmAsync();
        var holder = GrainId.Create("credential", credential.CredentialId);
        var failed = Probe.MakeUnreachable(holder);
        // The cascade cannot record the credential's own end either: only its lease stands between it and an allow.
        Probe.Fail(holder, "EndFromAboveAsync");
        LeaseClock.Early = TimeSpan.FromMilliseconds(400);
        try
        {
            var revoke = _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
            await failed.WaitAsync(TimeSpan.FromSeconds(30));
            // Past the point where an early timer would fire, before the credential's lease ends.
            LeaseClock.Advance(LeaseClusterFixture.LeaseDuration - TimeSpan.FromMilliseconds(300));
            if (await CompletesWithin(revoke, Watch))
            {
                Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
            }
            LeaseClock.Advance(LeaseAndMargin);
            Assert.True((await revoke.WaitAsync(TimeSpan.FromSeconds(30))).IsSuccess);
            Assert.Equal(DecisionKind.Deny, (await Read(credential)).Kind);
        }
        finally
        {
            LeaseClock.Early = TimeSpan.Zero;
            Probe.MakeReachable(holder);
            Probe.Heal(holder, "EndFromAboveAsync");
        }
    }

    [Fact]
    public async Task Reads_ReportOnlyDurableState()
    {
        var (_, task, _) = await WarmAsync();
        LeaseClock.Advance(LeaseAndMargin);
        var held = FlakyGrainStorage.Hold(task.TaskId);
        FlakyGrainStorage.FailingKeys[task.TaskId] = true;
        try
        {
            var revoke = _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
            await held.WaitAsync(TimeSpan.FromSeconds(30));
            // The revocation is in memory but not durable: a read waits for the write's outcome.
            var read = _s.Client.GetTaskAsync(task.TaskId);
            await CompletesWithin(read, Watch);
            FlakyGrainStorage.Release(task.TaskId);
            Assert.Equal(GrantErrorCode.Unavailable, (await revoke).Error?.Code);
            Assert.Equal(GrantTaskStatus.Active, (await read).Value.Status);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(task.TaskId, out _);
            FlakyGrainStorage.Release(task.TaskId);
        }
    }

    [Fact]
    public async Task ACancellationTheCallerDidNotAskFor_IsUnavailableOrADeny_NeverAnException()
    {
        // As when a silo is killed while it places a grain: the call ends in OperationCanceledException.
        var (_, task, credential) = await WarmAsync();
        var taskId = GrainId.Create("task", task.TaskId);
        var credentialId = GrainId.Create("credential", credential.CredentialId);
        Probe.Fail(taskId, "RevokeAsync", () => new OperationCanceledException("placement cancelled (test)"));
        Probe.Fail(credentialId, "AuthorizeAsync", () => new OperationCanceledException("placement cancelled (test)"));
        try
        {
            var revoke = await _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn");
            Assert.Equal(GrantErrorCode.Unavailable, revoke.Error?.Code);
            var decision = await Read(credential);
            Assert.Equal(DecisionKind.Deny, decision.Kind);
            Assert.Equal(DecisionReason.Error, decision.Reason);
        }
        finally
        {
            Probe.Heal(taskId, "RevokeAsync");
            Probe.Heal(credentialId, "AuthorizeAsync");
        }
    }

    [Fact]
    public async Task ACallThatTimesOut_IsUnavailableOrADenySayingWhatATimeoutMeans_NeverARawTimeout()
    {
        // As when a restarted silo is still waiting out the directory's hold: no answer within the response timeout.
        var (_, task, credential) = await WarmAsync();
        var taskId = GrainId.Create("task", task.TaskId);
        var credentialId = GrainId.Create("credential", credential.CredentialId);
        Probe.Fail(taskId, "GetAsync");
        Probe.Fail(credentialId, "AuthorizeAsync");
        try
        {
            var read = await _s.Client.GetTaskAsync(task.TaskId);
            Assert.Equal(GrantErrorCode.Unavailable, read.Error?.Code);
            Assert.Contains("no answer within the client's response timeout", read.Error!.Message, StringComparison.Ordinal);
            Assert.Contains("'ready'", read.Error.Message, StringComparison.Ordinal);
            var decision = await Read(credential);
            Assert.Equal(DecisionReason.Error, decision.Reason);
            Assert.Contains("no answer within the client's response timeout", decision.Detail, StringComparison.Ordinal);
        }
        finally
        {
            Probe.Heal(taskId, "GetAsync");
            Probe.Heal(credentialId, "AuthorizeAsync");
        }
    }

    private static async Task<T> AdvanceUntilDoneAsync<T>(Task<T> pending)
    {
        for (var step = 0; step < 30 && !await CompletesWithin(pending, TimeSpan.FromSeconds(1)); step++)
        {
            LeaseClock.Advance(LeaseAndMargin);
        }
        return await pending.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task<T> RetryUntilAcknowledgedAsync<T>(Func<Task<GrantResult<T>>> call)
    {
        // Polls (a retry is what a caller told "Unavailable" does); an activation whose state is unknown
        // answers Unavailable until it has been replaced.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var result = await call();
            if (result.IsSuccess)
            {
                return result.Value;
            }
            Assert.Equal(GrantErrorCode.Unavailable, result.Error.Code);
            Assert.True(DateTime.UtcNow < deadline, "never acknowledged");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }
}
