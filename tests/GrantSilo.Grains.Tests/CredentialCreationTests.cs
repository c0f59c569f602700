using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Credentials;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A credential is created by its issuing session, which writes the credential grain's first state straight into the
/// grain's own storage: no grain is activated and no internal method creates credentials, so there is nothing for a
/// forger inside or outside the cluster to call. The grain activates from that record on first use.
/// </summary>
[Collection(ClusterCollection.Name)]
public class CredentialCreationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private IServiceProvider SiloServices => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    private async Task<GrainState<CredentialState>> StoredAsync(string credentialId)
    {
        var storage = SiloServices.GetRequiredKeyedService<IGrainStorage>(GrantSiloStorage.Name);
        var state = new GrainState<CredentialState>();
        await storage.ReadStateAsync(CredentialGrain.StateName, fixture.SiloGrains.GetGrain<ICredentialLifecycleGrain>(credentialId).GetGrainId(), state);
        return state;
    }

    private async Task<bool> IsActiveAsync(string credentialId) =>
        await fixture.SiloGrains.GetGrain<IManagementGrain>(0).GetActivationAddress(fixture.SiloGrains.GetGrain<ICredentialLifecycleGrain>(credentialId)) is not null;

    [Fact]
    public async Task Issuing_WritesTheCredentialsWholeRecord_WithoutActivatingItsGrain_WhichActivatesFromItOnFirstUse()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:reports/*"))).Value!;
        var (session, credential) = await _s.CredentialAsync(worker, child.TaskId);

        Assert.False(await IsActiveAsync(credential.CredentialId));
        var stored = await StoredAsync(credential.CredentialId);
        Assert.True(stored.RecordExists);
        var record = Assert.IsType<CredentialState>(stored.State);
        Assert.Equal(CredentialStatus.Active, record.Status);
        Assert.Equal((child.TaskId, worker, session), (record.TaskId, record.Agent, record.SessionId));
        Assert.Equal(credential.Scope, record.Scope);
        Assert.Equal((credential.IssuedAt, credential.ExpiresAt), (record.IssuedAt, record.ExpiresAt));
        Assert.Equal(CredentialToken.StoredHash(credential.Token), record.SecretHash);
        Assert.Equal([root.TaskId], record.TaskAncestors);
        Assert.Equal((root.RootPerson, root.Orchestrator), (record.RootPerson, record.Orchestrator));

        // First use: the grain activates from the record and decides from it.
        var decision = await _s.AuthorizeAsync(credential, "read", "doc", "reports/q3");
        Assert.True(decision.IsAllowed, decision.Detail);
        Assert.True(await IsActiveAsync(credential.CredentialId));
        Assert.False((await _s.AuthorizeAsync(credential, "read", "doc", "other/q3")).IsAllowed);

        // The issuance record is the session's, with the credential's whole lineage and the agent's call as its caller.
        var issued = Assert.Single(fixture.AuditedRecords(), r => r.Kind == AuditEventKind.CredentialIssued && r.CredentialId == credential.CredentialId);
        Assert.Equal([root.TaskId, child.TaskId], issued.TaskChain);
        Assert.Equal((root.RootPerson, root.Orchestrator, worker, session), (issued.RootPerson, issued.Orchestrator, issued.Agent, issued.SessionId));
        Assert.False(string.IsNullOrEmpty(issued.CallerSubject));
    }

    [Fact]
    public async Task Issuing_WhenTheCredentialsRecordCannotBeWritten_ReturnsNoToken_AndTheSessionsEndStillReachesIt()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("reader", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, first) = await _s.CredentialAsync(agent, task.TaskId);

        FlakyGrainStorage.FailingCredentialsOfSession[session] = true;
        try
        {
            var refused = await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId });
            Assert.False(refused.IsSuccess);
            Assert.Equal(GrantErrorCode.Unavailable, refused.Error?.Code);
        }
        finally
        {
            FlakyGrainStorage.FailingCredentialsOfSession.TryRemove(session, out _);
        }
        Assert.Single(fixture.AuditedRecords(), r => r.Kind == AuditEventKind.CredentialIssued && r.SessionId == session);

        // The session issues again once storage does, and its end ends every credential it indexed.
        var second = (await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId })).Value;
        Assert.True((await _s.AuthorizeAsync(second, "read", "doc", "a")).IsAllowed);
        Assert.True((await _s.Client.EndSessionAsync(session, "done")).IsSuccess);
        Assert.Equal(DecisionReason.SessionNotActive, (await _s.AuthorizeAsync(first, "read", "doc", "a")).Reason);
        Assert.Equal(DecisionReason.SessionNotActive, (await _s.AuthorizeAsync(second, "read", "doc", "a")).Reason);
    }

    [Fact]
    public async Task ACredentialsRecord_IsCreatedOnce_NeverOverwritten()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("reader", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var original = Assert.IsType<CredentialState>((await StoredAsync(credential.CredentialId)).State);

        var records = SiloServices.GetRequiredService<CredentialRecords>();
        var other = new CredentialState { TaskId = task.TaskId, Agent = agent, SessionId = "s-other", Scope = scope, Status = CredentialStatus.Active, SecretHash = new byte[32], ExpiresAt = DateTimeOffset.MaxValue };
        await Assert.ThrowsAsync<InconsistentStateException>(() => records.CreateAsync(credential.CredentialId, other));
        var kept = Assert.IsType<CredentialState>((await StoredAsync(credential.CredentialId)).State);
        Assert.Equal((original.SessionId, original.ExpiresAt), (kept.SessionId, kept.ExpiresAt));
        Assert.Equal(original.SecretHash, kept.SecretHash);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task WhileItsRecordIsWritten_AListingOfTheSessionSkipsTheNewCredential_AndAnEarlierActivationStillEndsWithTheSession()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("reader", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, first) = await _s.CredentialAsync(agent, task.TaskId);

        var held = (Entered: new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously), Release: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        FlakyGrainStorage.HeldCredentialsOfSession[session] = held;
        var issuing = _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId });
        var id = await held.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The session is mid-issuance; its listing (which interleaves) shows only the credential that exists.
        var listed = await _s.Client.ListSessionCredentialsAsync(session);
        Assert.True(listed.IsSuccess, listed.Error?.ToString());
        Assert.Equal([first.CredentialId], listed.Value.Items.Select(c => c.CredentialId));
        var byTask = await _s.Client.ListTaskCredentialsAsync(task.TaskId);
        Assert.True(byTask.IsSuccess, byTask.Error?.ToString());
        Assert.Equal([first.CredentialId], byTask.Value.Items.Select(c => c.CredentialId));
        Assert.False(await IsActiveAsync(id));

        // Something else activates the grain before its record lands (only a guess of its random id could): it finds nothing.
        Assert.Equal(GrantErrorCode.CredentialNotFound, (await fixture.SiloGrains.GetGrain<ICredentialGrain>(id).GetAsync()).Error?.Code);
        held.Release.SetResult();
        var second = await issuing;
        Assert.True(second.IsSuccess, second.Error?.ToString());
        Assert.Equal(id, second.Value.CredentialId);

        // The session's end reaches it all the same: the cascade reads its record again rather than trust the early activation.
        Assert.True((await _s.Client.EndSessionAsync(session, "done")).IsSuccess);
        await Eventually.ReturnsAsync(
            () => fixture.SiloGrains.GetGrain<ICredentialGrain>(id).GetAsync(),
            r => r.IsSuccess && r.Value.Status != CredentialStatus.Active,
            Eventually.InProcess,
            "the early-activated credential ended with its session");
        Assert.False((await _s.AuthorizeAsync(second.Value, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public void NoInternalInterfaceCreatesACredential()
    {
        // The session's write is the only way a credential comes to exist; the grain's internal interface only uses or ends one.
        var methods = typeof(ICredentialLifecycleGrain).GetInterfaces().Append(typeof(ICredentialLifecycleGrain)).SelectMany(i => i.GetMethods());
        Assert.DoesNotContain(methods, m => m.GetParameters().Any(p => p.ParameterType == typeof(CredentialState)) || m.Name.StartsWith("Initialize", StringComparison.Ordinal) || m.Name.StartsWith("Create", StringComparison.Ordinal));
    }
}
