namespace GrantSilo.Grains.Tests;

/// <summary>A new policy version is checked against live tasks at their next checkpoint.</summary>
[Collection(ClusterCollection.Name)]
public class DriftTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task Reauthorize_IsRefusedWhileTheActivePolicyForbidsAPermission_NamingItAndTheVersion()
    {
        var scope = Scenario.Scope(0, "doc:read:*", "doc:delete:reports/*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope, TimeSpan.FromHours(2), checkpoint: TimeSpan.FromMinutes(10));
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        Assert.Null(task.PolicyVersionChecked);

        PolicyVersionInfo forbidding;
        await using (var published = await PublishedPolicy.PublishAsync(fixture, """
            @id("all") permit (principal, action, resource);
            @id("no-deletes") forbid (principal, action == Action::"delete", resource);
            """))
        {
            forbidding = published.Version;
            fixture.Time.Advance(TimeSpan.FromMinutes(10));
            var awaiting = await _s.TreeWhenAsync(task.TaskId, t => t.Status == GrantTaskStatus.AwaitingReauthorization);
            Assert.Equal(GrantTaskStatus.AwaitingReauthorization, awaiting.Task.Status);
            Assert.Equal(DecisionReason.TaskAwaitingReauthorization, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Reason);

            var refused = await _s.Client.ReauthorizeTaskAsync(task.TaskId);
            Assert.False(refused.IsSuccess);
            Assert.Equal(GrantErrorCode.PolicyForbidsScope, refused.Error.Code);
            Assert.Equal("doc:delete:reports/*", refused.Error.Permission);
            Assert.Contains($"version {forbidding.Version}", refused.Error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("test task", refused.Error.Message, StringComparison.Ordinal);

            // It stays unusable: the refusal changed nothing.
            var still = (await _s.Client.GetTaskAsync(task.TaskId)).Value;
            Assert.Equal(GrantTaskStatus.AwaitingReauthorization, still.Status);
            Assert.Equal(DecisionReason.TaskAwaitingReauthorization, (await _s.AuthorizeAsync(credential, "read", "doc", "a")).Reason);
        }

        // A policy that permits the scope again (the default set) lets a person re-authorize it.
        var reauthorized = await _s.Client.ReauthorizeTaskAsync(task.TaskId);
        Assert.True(reauthorized.IsSuccess, reauthorized.Error?.ToString());
        Assert.True(reauthorized.Value.PolicyVersionChecked > forbidding.Version);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task Reauthorize_AllowsAScopeAPolicyOnlyPartlyRestricts()
    {
        // "Restricted data is never exported" leaves exports of less sensitive data permitted.
        var scope = GrantSilo.Scope.Create(["dataset:export:*"], DataClassification.Restricted, 0).Value;
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope, TimeSpan.FromHours(2), checkpoint: TimeSpan.FromMinutes(10));
        fixture.Time.Advance(TimeSpan.FromMinutes(10));

        var reauthorized = await _s.Client.ReauthorizeTaskAsync(task.TaskId);
        Assert.True(reauthorized.IsSuccess, reauthorized.Error?.ToString());
        Assert.NotNull(reauthorized.Value.PolicyVersionChecked);
    }
}
