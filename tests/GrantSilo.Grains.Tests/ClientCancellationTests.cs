namespace GrantSilo.Grains.Tests;

/// <summary>The caller's cancellation through a real cluster: Orleans refuses the call, the SDK lets the exception through.</summary>
[Collection(ClusterCollection.Name)]
public class ClientCancellationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task ACancelledCallersToken_ThrowsOperationCanceled_AndNothingIsDecidedOrRevoked()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var resource = new ResourceRef { Type = "doc", Path = "a" };
        var cancelled = new CancellationToken(canceled: true);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _s.Client.AuthorizeAsync(credential.Token, "read", resource, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _s.Client.RevokeTaskAsync(task.TaskId, "cancelled before it was sent", cancelled));
        Assert.DoesNotContain(fixture.AuditedDecisions(), r => r.CredentialId == credential.CredentialId);

        // The same calls with a live token reach the grains.
        using var live = new CancellationTokenSource();
        Assert.Equal(GrantTaskStatus.Active, (await _s.Client.GetTaskAsync(task.TaskId, live.Token)).Value.Status);
        Assert.True((await _s.Client.AuthorizeAsync(credential.Token, "read", resource, live.Token)).IsAllowed);
        Assert.Contains(fixture.AuditedDecisions(), r => r.CredentialId == credential.CredentialId);
    }
}
