using GrantSilo.GrainInterfaces;

namespace GrantSilo.Grains.Tests;

/// <summary>Reasons and results that say what happened: how a grant ended, when, and whether a request to end it changed anything.</summary>
[Collection(ClusterCollection.Name)]
public class EndReasonTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private Task TickAsync<TGrain>(string key) where TGrain : IGrainWithStringKey => fixture.TickReminderAsync<TGrain>(key);

    [Fact]
    public async Task CompletedTask_ItsCredentialIsDeniedAsTaskCompleted_NamingTheTaskAsItsOwn()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        Assert.True((await _s.Client.CompleteTaskAsync(task.TaskId, "release notes written")).IsSuccess);

        var decision = await _s.AuthorizeAsync(credential, "read", "doc", "a");
        Assert.Equal(DecisionReason.TaskCompleted, decision.Reason);
        Assert.Equal($"The credential ended: its task '{task.TaskId}' was completed.", decision.Detail);
        var info = (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value;
        Assert.Equal(CredentialStatus.Revoked, info.Status);
        Assert.Equal($"its task '{task.TaskId}' was completed", info.StatusReason);
        Assert.Equal(fixture.Time.GetUtcNow(), info.EndedAt);
    }

    [Fact]
    public async Task RevokedTask_ItsCredentialIsDeniedAsTaskRevoked_WithTheReason()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        Assert.True((await _s.Client.RevokeTaskAsync(task.TaskId, "person withdrew consent")).IsSuccess);

        var decision = await _s.AuthorizeAsync(credential, "read", "doc", "a");
        Assert.Equal(DecisionReason.TaskRevoked, decision.Reason);
        Assert.Equal($"The credential ended: its task '{task.TaskId}' was revoked: person withdrew consent.", decision.Detail);
        // Revoking the credential itself afterwards is a no-op success; the decision keeps saying why it ended.
        Assert.Equal(CredentialStatus.Revoked, (await _s.Client.RevokeCredentialAsync(credential.CredentialId, "again")).Value.Status);
        Assert.Equal(DecisionReason.TaskRevoked, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Reason);
    }

    [Fact]
    public async Task EndingATaskThatEndedAnotherWay_SaysHowItEnded_AndStaysSafeToRetry()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);

        var completed = await _s.RootTaskAsync(agent, scope);
        await _s.Client.CompleteTaskAsync(completed.TaskId, "done");
        var revokeCompleted = await _s.Client.RevokeTaskAsync(completed.TaskId, "late");
        Assert.Equal(GrantErrorCode.AlreadyEnded, revokeCompleted.Error?.Code);
        Assert.StartsWith($"Task '{completed.TaskId}' had already ended as Completed at ", revokeCompleted.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(completed.TaskId, revokeCompleted.Error.Target);
        Assert.Equal(GrantErrorCode.AlreadyEnded, (await _s.Client.RevokeTaskAsync(completed.TaskId, "late")).Error?.Code);
        Assert.Equal(GrantTaskStatus.Completed, (await _s.Client.GetTaskAsync(completed.TaskId)).Value.Status);
        // The same end again is an idempotent success.
        Assert.Equal(GrantTaskStatus.Completed, (await _s.Client.CompleteTaskAsync(completed.TaskId, "done")).Value.Status);

        var revoked = await _s.RootTaskAsync(agent, scope);
        Assert.True((await _s.Client.RevokeTaskAsync(revoked.TaskId, "first")).IsSuccess);
        var again = await _s.Client.RevokeTaskAsync(revoked.TaskId, "retry");
        Assert.True(again.IsSuccess, again.Error?.ToString());
        Assert.Equal("first", again.Value.StatusReason);
        var completeRevoked = await _s.Client.CompleteTaskAsync(revoked.TaskId, "done");
        Assert.Equal(GrantErrorCode.AlreadyEnded, completeRevoked.Error?.Code);
        Assert.Contains("had already ended as Revoked", completeRevoked.Error!.Message, StringComparison.Ordinal);

        var expiring = await _s.RootTaskAsync(agent, scope, TimeSpan.FromMinutes(5));
        fixture.Time.Advance(TimeSpan.FromMinutes(6));
        var revokeExpired = await _s.Client.RevokeTaskAsync(expiring.TaskId, "late");
        Assert.Equal(GrantErrorCode.AlreadyEnded, revokeExpired.Error?.Code);
        Assert.Contains("had already ended as Expired", revokeExpired.Error!.Message, StringComparison.Ordinal);
        var expired = (await _s.Client.GetTaskAsync(expiring.TaskId)).Value;
        Assert.Equal(GrantTaskStatus.Expired, expired.Status);
        Assert.Equal(expiring.ExpiresAt, expired.EndedAt);
    }

    [Fact]
    public async Task ExpiryEnactedLate_EndedAtIsWhenItExpired_ForTasksCredentialsAndSessions()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope, TimeSpan.FromMinutes(30));
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, MaxLifetime = TimeSpan.FromMinutes(20), IdleTimeout = TimeSpan.FromMinutes(20) })).Value;
        var credential = (await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(10) })).Value;

        // Nothing ticks for hours (no silo ran, say); reads already apply the expiries, with when they happened.
        fixture.Time.Advance(TimeSpan.FromHours(5));
        Assert.Equal(task.ExpiresAt, (await _s.Client.GetTaskAsync(task.TaskId)).Value.EndedAt);
        Assert.Equal(credential.ExpiresAt, (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value.EndedAt);
        Assert.Equal(session.StartedAt + TimeSpan.FromMinutes(20), (await _s.Client.GetSessionAsync(session.SessionId)).Value.EndedAt);

        // Then the ticks enact them, recording the same instants.
        await TickAsync<ISessionGrain>(session.SessionId);
        await TickAsync<ITaskGrain>(task.TaskId);
        var taskInfo = (await _s.Client.GetTaskAsync(task.TaskId)).Value;
        Assert.Equal((GrantTaskStatus.Expired, "lifetime ended", task.ExpiresAt), (taskInfo.Status, taskInfo.StatusReason, taskInfo.EndedAt));
        var sessionInfo = (await _s.Client.GetSessionAsync(session.SessionId)).Value;
        Assert.Equal((SessionStatus.Expired, "maximum lifetime reached", session.StartedAt + TimeSpan.FromMinutes(20)), (sessionInfo.Status, sessionInfo.StatusReason, sessionInfo.EndedAt));
        var credentialInfo = await Eventually.LastAsync(async () => (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value, c => c.StatusReason is not null);
        // It expired before its session ended it: it stays expired, as of its own expiry.
        Assert.Equal((CredentialStatus.Expired, "lifetime ended", credential.ExpiresAt), (credentialInfo.Status, credentialInfo.StatusReason, credentialInfo.EndedAt));
        Assert.Equal(DecisionReason.CredentialExpired, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Reason);
    }

    [Fact]
    public async Task EndingAnExpiredCredentialOrSession_SaysItHadAlreadyExpired()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent, IdleTimeout = TimeSpan.FromMinutes(5) })).Value;
        var credential = (await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(2) })).Value;

        fixture.Time.Advance(TimeSpan.FromMinutes(10));
        var revoke = await _s.Client.RevokeCredentialAsync(credential.CredentialId, "late");
        Assert.Equal(GrantErrorCode.AlreadyEnded, revoke.Error?.Code);
        var credentialInfo = (await _s.Client.GetCredentialAsync(credential.CredentialId)).Value;
        Assert.Equal((CredentialStatus.Expired, credential.ExpiresAt), (credentialInfo.Status, credentialInfo.EndedAt));

        var end = await _s.Client.EndSessionAsync(session.SessionId, "late");
        Assert.Equal(GrantErrorCode.AlreadyEnded, end.Error?.Code);
        Assert.Contains("idle timeout", end.Error!.Message, StringComparison.Ordinal);
        var sessionInfo = (await _s.Client.GetSessionAsync(session.SessionId)).Value;
        Assert.Equal((SessionStatus.Expired, session.StartedAt + TimeSpan.FromMinutes(5)), (sessionInfo.Status, sessionInfo.EndedAt));
    }
}
