namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class AuthorizeTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task Authorize_AllowsInScope_DeniesOutOfScope()
    {
        var scope = Scenario.Scope(0, "repo:read:acme/payments/*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        var allowed = await _s.AuthorizeAsync(credential, "read", "repo", "acme/payments/ledger");
        Assert.True(allowed.IsAllowed, allowed.Detail);
        Assert.Equal(task.TaskId, allowed.TaskId);

        Assert.Equal(DecisionReason.ScopeDoesNotCover, (await _s.AuthorizeAsync(credential, "write", "repo", "acme/payments/ledger")).Reason);
        Assert.Equal(DecisionReason.ScopeDoesNotCover, (await _s.AuthorizeAsync(credential, "read", "repo", "acme/hr/salaries")).Reason);
        Assert.Equal(DecisionReason.ClassificationExceeded, (await _s.AuthorizeAsync(credential, "read", "repo", "acme/payments/keys", DataClassification.Restricted)).Reason);
    }

    [Fact]
    public async Task Authorize_DeniesExactlyAtExpiry()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId, lifetime: TimeSpan.FromMinutes(5));
        Assert.Equal(fixture.Time.GetUtcNow() + TimeSpan.FromMinutes(5), credential.ExpiresAt);

        fixture.Time.SetUtcNow(credential.ExpiresAt - TimeSpan.FromTicks(1));
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);

        fixture.Time.SetUtcNow(credential.ExpiresAt);
        var denied = await _s.AuthorizeAsync(credential, "read", "doc", "a");
        Assert.Equal(DecisionKind.Deny, denied.Kind);
        Assert.Equal(DecisionReason.CredentialExpired, denied.Reason);
    }

    [Fact]
    public async Task Credential_NeverOutlivesItsTask_AndTheTaskExpiryDenies()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope, lifetime: TimeSpan.FromMinutes(3));
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        Assert.Equal(task.ExpiresAt, credential.ExpiresAt);

        fixture.Time.SetUtcNow(task.ExpiresAt);
        Assert.False((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
        Assert.Equal(GrantTaskStatus.Expired, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);
    }

    [Fact]
    public async Task IssueCredential_RejectsScopeWiderThanTaskAndLifetimeOverMaximum()
    {
        var scope = Scenario.Scope(0, "doc:read:a/*");
        var agent = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:*:*"));
        var task = await _s.RootTaskAsync(agent, scope);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;

        var wider = await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Scope = Scenario.Scope(0, "doc:write:a/*") });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, wider.Error?.Code);
        Assert.Equal("doc:write:a/*", wider.Error?.Permission);

        var tooLong = await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(16) });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, tooLong.Error?.Code);

        var narrow = await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Scope = Scenario.Scope(0, "doc:read:a/b") });
        Assert.True(narrow.IsSuccess);
        Assert.False((await _s.AuthorizeAsync(narrow.Value, "read", "doc", "a/c")).IsAllowed);
        Assert.True((await _s.AuthorizeAsync(narrow.Value, "read", "doc", "a/b")).IsAllowed);
    }

    [Fact]
    public async Task IssueCredential_RefusesAgentNotAssignedToTask()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var assigned = await _s.AgentAsync("assigned", scope);
        var other = await _s.AgentAsync("other", scope);
        var task = await _s.RootTaskAsync(assigned, scope);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = other })).Value;

        var result = await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId });
        Assert.Equal(GrantErrorCode.TaskNotAssignedToAgent, result.Error?.Code);
    }

    [Fact]
    public async Task Authorize_DeniesForgedTruncatedAndUnknownTokens()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var resource = new ResourceRef { Type = "doc", Path = "a" };

        // A token cut inside its signature is still shaped as one, and matches no issued token; cut before it, it is malformed.
        Assert.Equal(DecisionReason.UnknownCredential, (await _s.Client.AuthorizeAsync(credential.Token[..^1], "read", resource)).Reason);
        Assert.Equal(DecisionReason.MalformedToken, (await _s.Client.AuthorizeAsync(credential.Token[..credential.Token.LastIndexOf('.')], "read", resource)).Reason);
        Assert.Equal(DecisionReason.MalformedToken, (await _s.Client.AuthorizeAsync("", "read", resource)).Reason);

        // Right credential id, another secret; and a well-formed token of no credential: one answer for both,
        // so a caller cannot learn which credential ids exist.
        var forged = ForgedTokens.For(credential.CredentialId);
        var wrongSecret = await _s.Client.AuthorizeAsync(forged, "read", resource);
        var unknown = ForgedTokens.For(CredentialToken.NewCredentialId());
        var unknownId = await _s.Client.AuthorizeAsync(unknown, "read", resource);
        Assert.Equal(DecisionReason.UnknownCredential, wrongSecret.Reason);
        Assert.Equal(DecisionReason.UnknownCredential, unknownId.Reason);
        Assert.Equal(wrongSecret.Detail, unknownId.Detail);

        // And the genuine token still works: nothing above changed anything.
        Assert.True((await _s.Client.AuthorizeAsync(credential.Token, "read", resource)).IsAllowed);
    }

    [Fact]
    public async Task Authorize_DeniesMalformedActionOrResource()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        Assert.Equal(DecisionReason.InvalidRequest, (await _s.AuthorizeAsync(credential, "READ", "doc", "a")).Reason);
        Assert.Equal(DecisionReason.InvalidRequest, (await _s.AuthorizeAsync(credential, "read", "doc", "a/*")).Reason);
        Assert.Equal(DecisionReason.InvalidRequest, (await _s.AuthorizeAsync(credential, "read", "doc", "a\u202Eb")).Reason);
        Assert.Equal(DecisionReason.InvalidRequest, (await _s.AuthorizeAsync(credential, "read", "doc", "a/../b")).Reason);
    }

    [Fact]
    public async Task RevokeCredential_EndsOnlyThatCredential()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, first) = await _s.CredentialAsync(agent, task.TaskId);
        var second = (await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId })).Value;

        var revoked = await _s.Client.RevokeCredentialAsync(first.CredentialId, "leaked");
        Assert.Equal(CredentialStatus.Revoked, revoked.Value.Status);

        Assert.Equal(DecisionReason.CredentialRevoked, (await _s.AuthorizeAsync(first, "read", "doc", "a")).Reason);
        Assert.True((await _s.AuthorizeAsync(second, "read", "doc", "a")).IsAllowed);
        Assert.Equal(GrantTaskStatus.Active, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);
        Assert.Equal(SessionStatus.Active, (await _s.Client.GetSessionAsync(session)).Value.Status);
    }

    [Fact]
    public async Task Session_EndingOrGoingIdleDeniesItsCredentials()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);

        var idle = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, IdleTimeout = TimeSpan.FromMinutes(2) })).Value;
        var idleCredential = (await _s.Client.IssueCredentialAsync(idle.SessionId, new IssueCredentialRequest { TaskId = task.TaskId })).Value;
        var (ended, endedCredential) = await _s.CredentialAsync(agent, task.TaskId);

        await _s.Client.EndSessionAsync(ended, "agent finished");
        var endedDecision = await _s.AuthorizeAsync(endedCredential, "read", "doc", "a");
        Assert.Equal(DecisionReason.SessionNotActive, endedDecision.Reason);
        Assert.Equal($"The credential ended: its session '{ended}' ended: agent finished.", endedDecision.Detail);

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True((await _s.AuthorizeAsync(idleCredential, "read", "doc", "a")).IsAllowed);
        fixture.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(DecisionReason.SessionNotActive, (await _s.AuthorizeAsync(idleCredential, "read", "doc", "a")).Reason);
    }

    [Fact]
    public async Task Decisions_AreAuditedWithoutTheToken()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        var decision = await _s.AuthorizeAsync(credential, "read", "doc", "audited/path");
        var record = Assert.Single(fixture.AuditedDecisions(), r => r.CredentialId == credential.CredentialId);
        Assert.Equal(DecisionKind.Allow, record.Decision);
        Assert.Equal(decision.DecisionId, record.Id);
        Assert.Equal("audited/path", record.ResourcePath);
        var secret = credential.Token[(credential.Token.LastIndexOf('.') + 1)..];
        Assert.DoesNotContain(secret, record.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, AuditChain.Serialize(record), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, credential.ToString(), StringComparison.Ordinal);
    }
}
