namespace GrantSilo.Grains.Tests;

/// <summary>
/// One rule for lifetimes: a request above a configured maximum (or not positive) is refused naming the
/// setting; a bound that comes from elsewhere (a parent task, the task, the session, a default) caps, and the
/// effective value is returned.
/// </summary>
[Collection(ClusterCollection.Name)]
public class LifetimeRuleTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task Session_WithOnlyAShortMaxLifetime_CapsTheDefaultIdleTimeoutToIt()
    {
        var agent = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var session = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, MaxLifetime = TimeSpan.FromSeconds(20) });
        Assert.True(session.IsSuccess, session.Error?.ToString());
        Assert.Equal((TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20)), (session.Value.MaxLifetime, session.Value.IdleTimeout));

        var explicitIdle = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, MaxLifetime = TimeSpan.FromMinutes(1), IdleTimeout = TimeSpan.FromHours(1) });
        Assert.Equal(TimeSpan.FromMinutes(1), explicitIdle.Value.IdleTimeout);
    }

    [Fact]
    public async Task Session_AboveTheConfiguredMaximum_IsRefusedNamingTheSetting()
    {
        var agent = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var refused = await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, MaxLifetime = TimeSpan.FromDays(2) });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, refused.Error?.Code);
        Assert.Contains("GrantSilo:Lifecycle:MaxSessionLifetime", refused.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(GrantErrorCode.LifetimeInvalid, (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, IdleTimeout = TimeSpan.Zero })).Error?.Code);
        Assert.Equal(0, (await _s.Client.GetAgentAsync(agent)).Value.LiveSessions);
    }

    [Fact]
    public async Task Credential_LongerThanItsTaskOrSession_IsCapped_AboveTheMaximum_IsRefused()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var shortTask = await _s.RootTaskAsync(agent, scope, TimeSpan.FromMinutes(5));
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, MaxLifetime = TimeSpan.FromMinutes(3) })).Value;

        // The default lifetime (the configured maximum, 15 minutes) is capped by the session, then the task.
        var capped = await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = shortTask.TaskId });
        Assert.Equal(session.StartedAt + TimeSpan.FromMinutes(3), capped.Value.ExpiresAt);
        var longSession = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
        var cappedByTask = await _s.Client.IssueCredentialAsync(longSession.SessionId, new IssueCredentialRequest { TaskId = shortTask.TaskId, Lifetime = TimeSpan.FromMinutes(10) });
        Assert.Equal(shortTask.ExpiresAt, cappedByTask.Value.ExpiresAt);

        var refused = await _s.Client.IssueCredentialAsync(longSession.SessionId, new IssueCredentialRequest { TaskId = shortTask.TaskId, Lifetime = TimeSpan.FromMinutes(16) });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, refused.Error?.Code);
        Assert.Contains("GrantSilo:Lifecycle:MaxCredentialLifetime", refused.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_AboveTheConfiguredMaximum_IsRefusedNamingTheSetting_AtTheRootAndBelow()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.Client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@test.dev", Orchestrator = "orchestrator:test", Agent = planner, Scope = ceiling, Lifetime = TimeSpan.FromDays(31),
        });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, root.Error?.Code);
        Assert.Contains("GrantSilo:Lifecycle:MaxTaskLifetime", root.Error!.Message, StringComparison.Ordinal);

        var parent = await _s.RootTaskAsync(planner, ceiling, TimeSpan.FromHours(1));
        var (_, proof) = await _s.CredentialAsync(planner, parent.TaskId);
        var child = await _s.DelegateAsync(parent.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"), TimeSpan.FromDays(31));
        Assert.Equal(GrantErrorCode.LifetimeInvalid, child.Error?.Code);
        var capped = await _s.DelegateAsync(parent.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"), TimeSpan.FromDays(2));
        Assert.Equal(parent.ExpiresAt, capped.Value.ExpiresAt);
    }
}
